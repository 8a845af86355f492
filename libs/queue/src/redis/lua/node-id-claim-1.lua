-- Renews the node id key if it holds our token, sets it if it is free: 1; leaves a key held by another process: 0.
-- KEYS: the node id key. ARGV: token, ttl ms.
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if held then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
