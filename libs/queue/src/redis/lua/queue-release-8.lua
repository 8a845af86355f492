-- Puts a claimed job back at the front of its lane and wakes a claimer.
-- KEYS: lane 0, lane 1, lane 2, leases, wake (of the channel), jobs, receipts, wait-result. ARGV: id, receipt.
-- Returns 1, or 0 when the receipt is dead.
local id = ARGV[1]
if redis.call('HGET', KEYS[7], id) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[7], id)
redis.call('ZREM', KEYS[4], id)
redis.call('SREM', KEYS[8], id)
local record = redis.call('HGET', KEYS[6], id)
redis.call('LPUSH', KEYS[tonumber(string.sub(record, 1, 1)) + 1], id)
if redis.call('LLEN', KEYS[5]) == 0 then redis.call('RPUSH', KEYS[5], '1') end
return 1
