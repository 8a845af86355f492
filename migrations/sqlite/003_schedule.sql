-- Cron schedules (jobworkerp.ext.ScheduleService and the cron file, CRON_FILE). One row per schedule; a tick is
-- claimed by the conditional update of next_tick_time that only one process can win (libs/engine/src/scheduler.ts).
-- The worker is kept as given: worker_id or worker_name (exactly one is set). missed_tick: 0 = skip, 1 = run once;
-- overlap: 0 = allow, 1 = skip; origin: 0 = the API, 1 = the cron file. next_tick_time 0 = no later tick.
CREATE TABLE IF NOT EXISTS schedule (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  name TEXT NOT NULL UNIQUE CONSTRAINT name_max_length CHECK (length(name) <= 128),
  cron TEXT NOT NULL CONSTRAINT cron_max_length CHECK (length(cron) <= 255),
  time_zone TEXT NOT NULL CONSTRAINT time_zone_max_length CHECK (length(time_zone) <= 64),
  worker_id INTEGER NULL,
  worker_name TEXT NULL CONSTRAINT worker_name_max_length CHECK (length(worker_name) <= 128),
  args BLOB NOT NULL,
  priority INTEGER NOT NULL,
  uniq_key TEXT NULL CONSTRAINT uniq_key_max_length CHECK (length(uniq_key) <= 255),
  timeout INTEGER NOT NULL,
  missed_tick INTEGER NOT NULL,
  overlap INTEGER NOT NULL,
  origin INTEGER NOT NULL,
  next_tick_time INTEGER NOT NULL,
  last_tick_time INTEGER NOT NULL DEFAULT 0,
  last_job_id INTEGER NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS schedule_next_tick_idx ON schedule (next_tick_time);
