-- Where a job stands in the queue. KEYS: jobs, receipts, wait-result. ARGV: id.
-- Returns 0 not held, 1 waiting, 2 claimed, 3 claimed and marked waiting for its result.
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 1 then
  if redis.call('SISMEMBER', KEYS[3], id) == 1 then return 3 end
  return 2
end
return redis.call('HEXISTS', KEYS[1], id)
