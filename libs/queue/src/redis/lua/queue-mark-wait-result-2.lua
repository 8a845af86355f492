-- Marks a claimed job as waiting for its result (WAIT_RESULT) while its receipt is live; the mark goes with the
-- claim (complete, release, a lapsed lease). KEYS: receipts, wait-result. ARGV: id, receipt.
-- Returns 1, or 0 when the receipt is dead.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
