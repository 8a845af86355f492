-- Helpers shared by the queue scripts. Scores are written with %.0f: Redis turns a Lua number into text with 14
-- significant digits, too few for a lane score (up to 3e15).
local LANE = 1e15
local function score(n) return string.format('%.0f', n) end
-- now on the Redis clock, epoch ms: leases do not depend on the clocks of the processes
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- one wake token while jobs wait in the channel, none otherwise
local function ensure_wake(pending, wake)
  if redis.call('ZCARD', pending) > 0 then
    if redis.call('LLEN', wake) == 0 then redis.call('RPUSH', wake, '1') end
  else
    redis.call('DEL', wake)
  end
end
