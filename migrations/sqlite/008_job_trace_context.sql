-- The W3C trace context a job carries while tracing is on (OTLP_ADDR): the parent of the spans of its runs, kept
-- with delayed, periodic, FORCED_RDB and WITH_BACKUP jobs and with retries, so their later runs join the job's trace.
-- NULL when the job has none (tracing off, or a job from before).
ALTER TABLE job ADD COLUMN traceparent TEXT NULL CONSTRAINT traceparent_max_length CHECK (length(traceparent) <= 64);

ALTER TABLE job ADD COLUMN tracestate TEXT NULL CONSTRAINT tracestate_max_length CHECK (length(tracestate) <= 512);
