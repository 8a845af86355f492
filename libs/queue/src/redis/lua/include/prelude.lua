-- Helpers shared by the queue scripts. A waiting job is its id in one of its channel's three lane lists (0 HIGH,
-- 1 MEDIUM, 2 LOW); its record in the jobs hash is a header (the lane digit, the channel name, a newline) followed by
-- the Job protobuf.

-- Scores and counters are written with %.0f: Redis turns a Lua number into text with only 14 significant digits.
local function int(n) return string.format('%.0f', n) end
-- now on the Redis clock, epoch ms: leases do not depend on the clocks of the processes
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- the header a job's record starts with
local function header(lane, channel) return lane .. channel .. '\n' end
-- one wake token while ids wait in the channel's lanes, none otherwise
local function ensure_wake(lane0, lane1, lane2, wake)
  if redis.call('LLEN', lane0) + redis.call('LLEN', lane1) + redis.call('LLEN', lane2) > 0 then
    if redis.call('LLEN', wake) == 0 then redis.call('RPUSH', wake, '1') end
  else
    redis.call('DEL', wake)
  end
end
