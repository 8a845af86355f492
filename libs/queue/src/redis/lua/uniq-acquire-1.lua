-- Takes a uniq key for a job: free, or already its own. KEYS: the uniq hash. ARGV: uniq key, job id. Returns 1 or 0.
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if not holder then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
if holder == ARGV[2] then return 1 end
return 0
