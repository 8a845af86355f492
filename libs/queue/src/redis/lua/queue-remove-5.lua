-- Removes a waiting job of the channel the caller read from meta; verifies that the job is still in that channel.
-- KEYS: pending, wake, jobs, meta, ids (pending and wake of that channel). ARGV: id, channel.
-- Returns 1 removed, 0 the job is not waiting, -1 the job is now in another channel (read meta again).
-- @include prelude.lua
local id = ARGV[1]
local meta = redis.call('HGET', KEYS[4], id)
if not meta then return 0 end
if string.sub(meta, 2) ~= ARGV[2] then return -1 end
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
ensure_wake(KEYS[1], KEYS[2])
return 1
