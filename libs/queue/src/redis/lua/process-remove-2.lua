-- Forgets a process (its graceful stop).
-- KEYS: processes hash, heartbeats zset. ARGV: instance id.
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
