-- Adds jobs to the back of their lanes.
-- KEYS: pending, wake, jobs, meta, ids, seq. ARGV: maxPending, maxTotal (0 = none), channel, then (id, lane, payload)
-- per job. Returns one code per job: 1 added, 0 the id is already waiting or claimed, -1 the channel is full, -2 the
-- whole queue (waiting and claimed jobs of every channel) is full.
-- @include prelude.lua
local max, max_total, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local ids = {}
for i = 4, #ARGV, 3 do ids[#ids + 1] = ARGV[i] end
local known = redis.call('HMGET', KEYS[3], unpack(ids))
local waiting = redis.call('ZCARD', KEYS[1])
local total = redis.call('ZCARD', KEYS[5])
local seq = tonumber(redis.call('GET', KEYS[6]) or '0')
local codes, taken, pending, jobs, meta, index = {}, {}, {}, {}, {}, {}
for i, id in ipairs(ids) do
  if known[i] or taken[id] then
    codes[i] = 0
  elseif waiting >= max then
    codes[i] = -1
  elseif max_total > 0 and total >= max_total then
    codes[i] = -2
  else
    local lane = ARGV[3 * i + 2]
    seq = seq + 1
    waiting = waiting + 1
    total = total + 1
    taken[id] = true
    pending[#pending + 1] = score(tonumber(lane) * LANE + seq)
    pending[#pending + 1] = id
    jobs[#jobs + 1] = id
    jobs[#jobs + 1] = ARGV[3 * i + 3]
    meta[#meta + 1] = id
    meta[#meta + 1] = lane .. channel
    index[#index + 1] = id
    index[#index + 1] = id
    codes[i] = 1
  end
end
if #pending > 0 then
  redis.call('SET', KEYS[6], score(seq))
  redis.call('ZADD', KEYS[1], unpack(pending))
  redis.call('HSET', KEYS[3], unpack(jobs))
  redis.call('HSET', KEYS[4], unpack(meta))
  redis.call('ZADD', KEYS[5], unpack(index))
  if redis.call('LLEN', KEYS[2]) == 0 then redis.call('RPUSH', KEYS[2], '1') end
end
return codes
