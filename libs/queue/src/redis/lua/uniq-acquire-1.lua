-- Takes a uniq key for a job: free, or already its own. KEYS: the uniq key. ARGV: job id. Returns 1 or 0.
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
if holder == ARGV[1] then return 1 end
return 0
