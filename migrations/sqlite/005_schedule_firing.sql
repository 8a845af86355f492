-- The firing lease of a schedule: the claim of a tick that enqueues a job also records the job's id, the tick and a
-- deadline (firing_until); the process clears them once the job is enqueued. A lease still there after its deadline
-- belongs to a process that died (or failed) between the claim and the enqueue: any scheduler takes it over and
-- enqueues the same job (libs/engine/src/scheduler.ts). firing_until 0 = no lease; firing_job_id is set only with one.
ALTER TABLE schedule ADD COLUMN firing_job_id INTEGER NULL;

ALTER TABLE schedule ADD COLUMN firing_tick_time INTEGER NOT NULL DEFAULT 0;

ALTER TABLE schedule ADD COLUMN firing_until INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS schedule_firing_idx ON schedule (firing_until);
