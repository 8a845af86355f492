-- jobworkerp schema for MySQL / MariaDB (Scalable). Applied by libs/storage/src/migrator.ts under
-- GET_LOCK('jobworkerp_migrate'). DDL commits implicitly in MySQL, so every statement is idempotent
-- (IF NOT EXISTS) and a migration that failed half-way can simply be run again.
-- Statements end with a semicolon at the end of a line; lines starting with "--" are comments.
-- Times are epoch milliseconds, durations milliseconds, booleans 0/1. Unique keys are named after
-- their column: duplicate-key errors are reported by that name. utf8mb4_bin makes names and keys
-- compare byte for byte, as in SQLite.

CREATE TABLE IF NOT EXISTS runner (
  id BIGINT NOT NULL,
  name VARCHAR(128) NOT NULL,
  type INT NOT NULL,
  settings_proto MEDIUMTEXT NOT NULL,
  args_proto MEDIUMTEXT NOT NULL,
  result_proto MEDIUMTEXT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS worker (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  runner_id BIGINT NOT NULL,
  runner_settings MEDIUMBLOB NOT NULL,
  retry_type INT NOT NULL,
  retry_interval BIGINT NOT NULL,
  retry_max_interval BIGINT NOT NULL,
  retry_max_retry INT NOT NULL,
  retry_basis DOUBLE NOT NULL,
  periodic_interval BIGINT NOT NULL,
  channel VARCHAR(128) NULL,
  queue_type INT NOT NULL,
  response_type INT NOT NULL,
  store_success BOOL NOT NULL,
  store_failure BOOL NOT NULL,
  next_workers TEXT NOT NULL,
  use_static BOOL NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A job row exists while the job is unfinished, so uniq_key is unique among pending jobs (NULLs never clash).
CREATE TABLE IF NOT EXISTS job (
  id BIGINT NOT NULL,
  worker_id BIGINT NOT NULL,
  args MEDIUMBLOB NOT NULL,
  uniq_key VARCHAR(255) NULL,
  enqueue_time BIGINT NOT NULL,
  grabbed_until_time BIGINT NOT NULL DEFAULT 0,
  run_after_time BIGINT NOT NULL DEFAULT 0,
  retried INT NOT NULL,
  priority INT NOT NULL,
  timeout BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uniq_key (uniq_key),
  KEY job_due_idx (run_after_time, grabbed_until_time, priority),
  KEY job_worker_due_idx (worker_id, run_after_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- output holds the protobuf bytes of jobworkerp.data.ResultOutput (repeated bytes items = 1).
CREATE TABLE IF NOT EXISTS job_result (
  id BIGINT NOT NULL,
  job_id BIGINT NOT NULL,
  worker_id BIGINT NOT NULL,
  worker_name VARCHAR(128) NOT NULL,
  args MEDIUMBLOB NOT NULL,
  uniq_key VARCHAR(255) NULL,
  status INT NOT NULL,
  output MEDIUMBLOB NOT NULL,
  retried INT NOT NULL,
  max_retry INT NOT NULL,
  priority INT NOT NULL,
  timeout BIGINT NOT NULL,
  enqueue_time BIGINT NOT NULL,
  run_after_time BIGINT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  response_type INT NOT NULL,
  store_success BOOL NOT NULL,
  store_failure BOOL NOT NULL,
  PRIMARY KEY (id),
  KEY job_result_job_idx (job_id, end_time),
  KEY job_result_worker_idx (worker_id, end_time),
  KEY job_result_end_time_idx (end_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
