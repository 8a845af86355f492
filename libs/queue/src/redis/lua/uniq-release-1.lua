-- Frees a uniq key if the job holds it. KEYS: the uniq hash. ARGV: uniq key, job id.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
