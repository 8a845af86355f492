-- jobworkerp schema for SQLite (Standalone). Applied by libs/storage/src/migrator.ts inside one
-- BEGIN IMMEDIATE transaction. Statements end with a semicolon at the end of a line; lines starting
-- with "--" are comments. Times are epoch milliseconds, durations milliseconds, booleans 0/1.
-- STRICT tables reject values of the wrong type; CHECKs mirror the MySQL column lengths so both
-- backends refuse the same values.

CREATE TABLE IF NOT EXISTS runner (
  id INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE CONSTRAINT name_max_length CHECK (length(name) <= 128),
  type INTEGER NOT NULL,
  settings_proto TEXT NOT NULL,
  args_proto TEXT NOT NULL,
  result_proto TEXT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS worker (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  name TEXT NOT NULL UNIQUE CONSTRAINT name_max_length CHECK (length(name) <= 128),
  runner_id INTEGER NOT NULL,
  runner_settings BLOB NOT NULL,
  retry_type INTEGER NOT NULL,
  retry_interval INTEGER NOT NULL,
  retry_max_interval INTEGER NOT NULL,
  retry_max_retry INTEGER NOT NULL,
  retry_basis REAL NOT NULL,
  periodic_interval INTEGER NOT NULL,
  channel TEXT NULL CONSTRAINT channel_max_length CHECK (length(channel) <= 128),
  queue_type INTEGER NOT NULL,
  response_type INTEGER NOT NULL,
  store_success INTEGER NOT NULL,
  store_failure INTEGER NOT NULL,
  next_workers TEXT NOT NULL,
  use_static INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- A job row exists while the job is unfinished, so uniq_key is unique among pending jobs (NULLs never clash).
CREATE TABLE IF NOT EXISTS job (
  id INTEGER PRIMARY KEY NOT NULL,
  worker_id INTEGER NOT NULL,
  args BLOB NOT NULL,
  uniq_key TEXT NULL UNIQUE CONSTRAINT uniq_key_max_length CHECK (length(uniq_key) <= 255),
  enqueue_time INTEGER NOT NULL,
  grabbed_until_time INTEGER NOT NULL DEFAULT 0,
  run_after_time INTEGER NOT NULL DEFAULT 0,
  retried INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  timeout INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS job_due_idx ON job (run_after_time, grabbed_until_time, priority);

CREATE INDEX IF NOT EXISTS job_worker_due_idx ON job (worker_id, run_after_time);

-- output holds the protobuf bytes of jobworkerp.data.ResultOutput (repeated bytes items = 1).
CREATE TABLE IF NOT EXISTS job_result (
  id INTEGER PRIMARY KEY NOT NULL,
  job_id INTEGER NOT NULL,
  worker_id INTEGER NOT NULL,
  worker_name TEXT NOT NULL CONSTRAINT worker_name_max_length CHECK (length(worker_name) <= 128),
  args BLOB NOT NULL,
  uniq_key TEXT NULL CONSTRAINT uniq_key_max_length CHECK (length(uniq_key) <= 255),
  status INTEGER NOT NULL,
  output BLOB NOT NULL,
  retried INTEGER NOT NULL,
  max_retry INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  timeout INTEGER NOT NULL,
  enqueue_time INTEGER NOT NULL,
  run_after_time INTEGER NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  response_type INTEGER NOT NULL,
  store_success INTEGER NOT NULL,
  store_failure INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS job_result_job_idx ON job_result (job_id, end_time);

CREATE INDEX IF NOT EXISTS job_result_worker_idx ON job_result (worker_id, end_time);

CREATE INDEX IF NOT EXISTS job_result_end_time_idx ON job_result (end_time);
