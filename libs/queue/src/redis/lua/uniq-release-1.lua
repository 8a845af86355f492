-- Frees a uniq key if the job holds it. KEYS: the uniq key. ARGV: job id.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
