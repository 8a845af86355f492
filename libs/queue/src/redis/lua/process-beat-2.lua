-- Records a heartbeat: the process's entry and its time (Redis clock), and drops the entries whose last heartbeat is
-- older than the timeout (processes that died without removing theirs).
-- KEYS: processes hash, heartbeats zset. ARGV: instance id, entry (JSON), timeout ms.
-- @include prelude.lua
local now = now_ms()
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now - tonumber(ARGV[3])), 'LIMIT', 0, 100)
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], int(now), ARGV[1])
return now
