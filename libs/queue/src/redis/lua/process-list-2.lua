-- The processes whose last heartbeat is within the timeout, with it.
-- KEYS: processes hash, heartbeats zset. ARGV: timeout ms.
-- Returns {entry, last heartbeat (epoch ms), ...}.
-- @include prelude.lua
local now = now_ms()
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. int(now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  local entry = redis.call('HGET', KEYS[1], live[i])
  if entry then
    out[#out + 1] = entry
    out[#out + 1] = tonumber(live[i + 1])
  end
end
return out
