-- The W3C trace context a job carries while tracing is on (OTLP_ADDR): the parent of the spans of its runs, kept
-- with delayed, periodic, FORCED_RDB and WITH_BACKUP jobs and with retries, so their later runs join the job's trace.
-- NULL when the job has none (tracing off, or a job from before).
-- (One statement: MySQL 8 has no ADD COLUMN IF NOT EXISTS; the migrator records this file once it succeeded.)
ALTER TABLE job ADD COLUMN traceparent VARCHAR(64) NULL, ADD COLUMN tracestate VARCHAR(512) NULL;
