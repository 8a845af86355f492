-- Results are looked up by uniq_key (the poulpe API's task id): the newest result under a key.
-- (CREATE INDEX has no IF NOT EXISTS on MySQL 8; the migrator records this file once it succeeded.)
CREATE INDEX job_result_uniq_key ON job_result (uniq_key, end_time);
