-- Cron schedules (jobworkerp.ext.ScheduleService and the cron file, CRON_FILE). One row per schedule; a tick is
-- claimed by the conditional update of next_tick_time that only one process can win (libs/engine/src/scheduler.ts).
-- The worker is kept as given: worker_id or worker_name (exactly one is set). missed_tick: 0 = skip, 1 = run once;
-- overlap: 0 = allow, 1 = skip; origin: 0 = the API, 1 = the cron file. next_tick_time 0 = no later tick.
CREATE TABLE IF NOT EXISTS schedule (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  cron VARCHAR(255) NOT NULL,
  time_zone VARCHAR(64) NOT NULL,
  worker_id BIGINT NULL,
  worker_name VARCHAR(128) NULL,
  args MEDIUMBLOB NOT NULL,
  priority INT NOT NULL,
  uniq_key VARCHAR(255) NULL,
  timeout BIGINT NOT NULL,
  missed_tick INT NOT NULL,
  overlap INT NOT NULL,
  origin INT NOT NULL,
  next_tick_time BIGINT NOT NULL,
  last_tick_time BIGINT NOT NULL DEFAULT 0,
  last_job_id BIGINT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY name (name),
  KEY schedule_next_tick_idx (next_tick_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
