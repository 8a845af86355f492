-- Cancels a job the queue holds. A waiting job is removed (like queue-remove) and its record returned; a claimed job
-- has its id published on the cancel channel, where every process listens (its runner is aborted there).
-- KEYS: jobs, receipts. ARGV: id, the cancel channel.
-- Returns {1, record} waiting, {2} claimed, {0} the queue does not hold the job.
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], id) == 1 then
  redis.call('PUBLISH', ARGV[2], id)
  return {2}
end
local record = redis.call('HGET', KEYS[1], id)
if not record then return {0} end
redis.call('HDEL', KEYS[1], id)
return {1, record}
