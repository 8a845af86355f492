-- Cancels a job the queue holds. A waiting job is removed (like queue-remove) and its record returned; a claimed job
-- is noted in the cancelled set and its id published on the cancel channel, where every process listens.
-- KEYS: jobs, receipts, cancelled. ARGV: id, the cancel channel.
-- Returns {1, record} waiting, {2} claimed, {0} the queue does not hold the job.
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 1 then
  redis.call('SADD', KEYS[3], id)
  redis.call('PUBLISH', ARGV[2], id)
  return {2}
end
local record = redis.call('HGET', KEYS[1], id)
if not record then return {0} end
redis.call('HDEL', KEYS[1], id)
redis.call('SREM', KEYS[3], id)
return {1, record}
