-- Deleting a worker now deletes its dead-letter options (dead_letter_policy) in the same transaction; this drops the
-- options that workers deleted before left behind, so a later worker given the same id starts from the default.
DELETE FROM dead_letter_policy WHERE worker_id NOT IN (SELECT id FROM worker);
