-- Results are looked up by uniq_key (the poulpe API's task id): the newest result under a key.
CREATE INDEX IF NOT EXISTS job_result_uniq_key ON job_result (uniq_key, end_time);
