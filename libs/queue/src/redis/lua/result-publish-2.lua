-- Keeps a result (when asked) and publishes it on the job's and the worker's channels, in one atomic step: whoever
-- reads the kept results after the publish finds it. A kept result is a field of the results hash with its expiry in
-- the expiry zset (Redis 7.0 has no per-field TTL); each kept result drops a few expired ones.
-- KEYS: results, results expiry. ARGV: keepMs (0: do not keep), result, job id, job channel, worker channel.
-- @include prelude.lua
local keep_ms = tonumber(ARGV[1])
if keep_ms > 0 then
  local now = now_ms()
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', int(now), 'LIMIT', 0, 16)
  if #expired > 0 then
    redis.call('HDEL', KEYS[1], unpack(expired))
    redis.call('ZREM', KEYS[2], unpack(expired))
  end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[2], int(now + keep_ms), ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
