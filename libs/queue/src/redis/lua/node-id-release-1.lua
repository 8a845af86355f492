-- Deletes the node id key if it holds our token. KEYS: the node id key. ARGV: token. Returns how many keys went.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
