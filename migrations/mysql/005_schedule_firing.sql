-- The firing lease of a schedule: the claim of a tick that enqueues a job also records the job's id, the tick and a
-- deadline (firing_until); the process clears them once the job is enqueued. A lease still there after its deadline
-- belongs to a process that died (or failed) between the claim and the enqueue: any scheduler takes it over and
-- enqueues the same job (libs/engine/src/scheduler.ts). firing_until 0 = no lease; firing_job_id is set only with one.
-- (One statement: MySQL commits each DDL statement, and the migrator records this file once it succeeded.)
ALTER TABLE schedule
  ADD COLUMN firing_job_id BIGINT NULL,
  ADD COLUMN firing_tick_time BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN firing_until BIGINT NOT NULL DEFAULT 0,
  ADD KEY schedule_firing_idx (firing_until);
