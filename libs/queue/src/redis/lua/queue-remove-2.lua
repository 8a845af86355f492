-- Removes a waiting job (not a claimed one) in O(1): only its record goes; its id stays in its lane until a claim
-- passes it and drops it (a claim skips ids without a record).
-- KEYS: jobs, receipts. ARGV: id. Returns 1, or 0 when the job is not waiting.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
return 1
