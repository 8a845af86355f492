-- Waiting and claimed jobs ordered by id. KEYS: ids, jobs. ARGV: offset, limit (> 0). Returns payloads.
local ids = redis.call('ZRANGE', KEYS[1], ARGV[1], tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = {}
for i = 1, #ids do
  local payload = redis.call('HGET', KEYS[2], ids[i])
  if payload then out[#out + 1] = payload end
end
return out
