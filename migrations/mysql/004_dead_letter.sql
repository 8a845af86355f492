-- Dead letters: jobs that ended in a failure an operator should look at (MAX_RETRY, FATAL_ERROR, and per worker
-- CANCELLED, ABORT or OTHER_ERROR), kept whatever the worker's store_failure says, with their last result.
-- One row per attempt of a job: (job_id, retried, run_after_time) names an attempt, as in job_result, so a job
-- delivered again after its process died between recording and acking cannot leave a second dead letter.
-- requeued_job_id is 0 until the dead letter is requeued, then the id of the new job.
CREATE TABLE IF NOT EXISTS dead_letter (
  id BIGINT NOT NULL,
  job_id BIGINT NOT NULL,
  worker_id BIGINT NOT NULL,
  worker_name VARCHAR(128) NOT NULL,
  args MEDIUMBLOB NOT NULL,
  uniq_key VARCHAR(255) NULL,
  priority INT NOT NULL,
  timeout BIGINT NOT NULL,
  enqueue_time BIGINT NOT NULL,
  run_after_time BIGINT NOT NULL,
  retried INT NOT NULL,
  max_retry INT NOT NULL,
  status INT NOT NULL,
  output MEDIUMBLOB NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  died_at BIGINT NOT NULL,
  requeued_job_id BIGINT NOT NULL DEFAULT 0,
  requeued_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY dead_letter_attempt_uniq (job_id, retried, run_after_time),
  KEY dead_letter_died_idx (died_at),
  KEY dead_letter_worker_idx (worker_id, died_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per-worker dead-letter options, outside the worker row so WorkerData stays as upstream has it. A worker without a
-- row follows the configured default. extra_statuses: comma list of ResultStatus numbers kept besides MAX_RETRY and
-- FATAL_ERROR ('' = none).
CREATE TABLE IF NOT EXISTS dead_letter_policy (
  worker_id BIGINT NOT NULL,
  enabled BOOL NOT NULL,
  extra_statuses VARCHAR(64) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (worker_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
