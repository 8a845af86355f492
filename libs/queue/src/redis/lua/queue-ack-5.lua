-- Forgets claimed jobs whose receipt is still live.
-- KEYS: leases, jobs, meta, ids, receipts. ARGV: (id, receipt) per claim. Returns how many were acked.
local ids = {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local live = redis.call('HMGET', KEYS[5], unpack(ids))
local done = {}
for i, id in ipairs(ids) do
  if live[i] == ARGV[2 * i] then done[#done + 1] = id end
end
if #done > 0 then
  redis.call('HDEL', KEYS[5], unpack(done))
  redis.call('ZREM', KEYS[1], unpack(done))
  redis.call('HDEL', KEYS[2], unpack(done))
  redis.call('HDEL', KEYS[3], unpack(done))
  redis.call('ZREM', KEYS[4], unpack(done))
end
return #done
