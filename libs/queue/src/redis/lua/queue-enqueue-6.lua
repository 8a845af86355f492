-- Adds jobs to the back of their lanes and reserves their uniq keys, in one step.
-- KEYS: lane 0, lane 1, lane 2 (of the channel), wake, jobs, uniq.
-- ARGV: maxPending, maxTotal (0 = none), channel, then (id, lane, uniq key or '', Job protobuf) per job.
-- Returns one code per job: 1 added; 0 the id is already waiting or claimed; -1 the channel is full; -2 the whole
-- queue (waiting and claimed jobs of every channel) is full; -3 another job holds its uniq key. A refused job leaves
-- nothing behind.
-- The channel's waiting count is the length of its lanes, which may still hold ids removed lazily (see queue-remove).
-- @include prelude.lua
local max, max_total, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local ids = {}
for i = 4, #ARGV, 4 do ids[#ids + 1] = ARGV[i] end
local known = redis.call('HMGET', KEYS[5], unpack(ids))
local waiting = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3])
local total = redis.call('HLEN', KEYS[5])
local codes, taken, held = {}, {}, {}
local lanes, jobs, uniqs = {{}, {}, {}}, {}, {}
for i, id in ipairs(ids) do
  local lane, uniq = ARGV[4 * i + 1], ARGV[4 * i + 2]
  local holder = nil
  if uniq ~= '' then
    holder = held[uniq]
    if holder == nil then
      holder = redis.call('HGET', KEYS[6], uniq)
      held[uniq] = holder
    end
  end
  if known[i] or taken[id] then
    codes[i] = 0
  elseif waiting >= max then
    codes[i] = -1
  elseif max_total > 0 and total >= max_total then
    codes[i] = -2
  elseif holder and holder ~= id then
    codes[i] = -3
  else
    waiting = waiting + 1
    total = total + 1
    taken[id] = true
    local ids_of_lane = lanes[tonumber(lane) + 1]
    ids_of_lane[#ids_of_lane + 1] = id
    jobs[#jobs + 1] = id
    jobs[#jobs + 1] = header(lane, channel) .. ARGV[4 * i + 3]
    if uniq ~= '' and not holder then
      held[uniq] = id
      uniqs[#uniqs + 1] = uniq
      uniqs[#uniqs + 1] = id
    end
    codes[i] = 1
  end
end
if #jobs > 0 then
  for lane = 1, 3 do
    if #lanes[lane] > 0 then redis.call('RPUSH', KEYS[lane], unpack(lanes[lane])) end
  end
  redis.call('HSET', KEYS[5], unpack(jobs))
  if #uniqs > 0 then redis.call('HSET', KEYS[6], unpack(uniqs)) end
  if redis.call('LLEN', KEYS[4]) == 0 then redis.call('RPUSH', KEYS[4], '1') end
end
return codes
