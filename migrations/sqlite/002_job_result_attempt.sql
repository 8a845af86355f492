-- One result per attempt of a job: (job_id, retried, run_after_time) names an attempt (a retry raises retried, a
-- periodic run has its own run_after_time). A delivery that runs a job again after its process died between storing
-- the result and acking the queue then cannot store a second result.
CREATE UNIQUE INDEX IF NOT EXISTS job_result_attempt_uniq ON job_result (job_id, retried, run_after_time);
