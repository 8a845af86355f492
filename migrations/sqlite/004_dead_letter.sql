-- Dead letters: jobs that ended in a failure an operator should look at (MAX_RETRY, FATAL_ERROR, and per worker
-- CANCELLED, ABORT or OTHER_ERROR), kept whatever the worker's store_failure says, with their last result.
-- One row per attempt of a job: (job_id, retried, run_after_time) names an attempt, as in job_result, so a job
-- delivered again after its process died between recording and acking cannot leave a second dead letter.
-- requeued_job_id is 0 until the dead letter is requeued, then the id of the new job.
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY NOT NULL,
  job_id INTEGER NOT NULL,
  worker_id INTEGER NOT NULL,
  worker_name TEXT NOT NULL CONSTRAINT worker_name_max_length CHECK (length(worker_name) <= 128),
  args BLOB NOT NULL,
  uniq_key TEXT NULL CONSTRAINT uniq_key_max_length CHECK (length(uniq_key) <= 255),
  priority INTEGER NOT NULL,
  timeout INTEGER NOT NULL,
  enqueue_time INTEGER NOT NULL,
  run_after_time INTEGER NOT NULL,
  retried INTEGER NOT NULL,
  max_retry INTEGER NOT NULL,
  status INTEGER NOT NULL,
  output BLOB NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  died_at INTEGER NOT NULL,
  requeued_job_id INTEGER NOT NULL DEFAULT 0,
  requeued_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX IF NOT EXISTS dead_letter_attempt_uniq ON dead_letter (job_id, retried, run_after_time);

CREATE INDEX IF NOT EXISTS dead_letter_died_idx ON dead_letter (died_at);

CREATE INDEX IF NOT EXISTS dead_letter_worker_idx ON dead_letter (worker_id, died_at);

-- Per-worker dead-letter options, outside the worker row so WorkerData stays as upstream has it. A worker without a
-- row follows the configured default. extra_statuses: comma list of ResultStatus numbers kept besides MAX_RETRY and
-- FATAL_ERROR ('' = none).
CREATE TABLE IF NOT EXISTS dead_letter_policy (
  worker_id INTEGER PRIMARY KEY NOT NULL,
  enabled INTEGER NOT NULL,
  extra_statuses TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
