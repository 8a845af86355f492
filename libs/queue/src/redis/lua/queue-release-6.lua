-- Puts a claimed job back at the front of its lane and wakes a claimer.
-- KEYS: pending, leases, wake, meta, receipts, seq. ARGV: id, receipt. Returns 1, or 0 when the receipt is dead.
-- @include prelude.lua
local id = ARGV[1]
if redis.call('HGET', KEYS[5], id) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[5], id)
redis.call('ZREM', KEYS[2], id)
local meta = redis.call('HGET', KEYS[4], id)
redis.call('ZADD', KEYS[1], score(tonumber(string.sub(meta, 1, 1)) * LANE - redis.call('INCR', KEYS[6])), id)
ensure_wake(KEYS[1], KEYS[3])
return 1
