-- The state of one channel for a status call: how many ids wait in its lanes (lazily removed ones included), how
-- many jobs are leased, the record of the first live job at the head of each lane, and its completion buckets.
-- KEYS: lane 0, lane 1, lane 2, leases, completion buckets (of the channel), jobs.
-- ARGV: channel.
-- Returns {now (Redis clock, epoch ms), waiting, leased, {head record or '' per lane}, {bucket, count, ...}}.
-- @include prelude.lua
local channel = ARGV[1]
local waiting, heads = 0, {}
for lane = 1, 3 do
  waiting = waiting + redis.call('LLEN', KEYS[lane])
  heads[lane] = ''
  -- the first few ids: a removed job's id stays in its lane until a claim passes it
  local ids = redis.call('LRANGE', KEYS[lane], 0, 15)
  if #ids > 0 then
    local hdr = header(lane - 1, channel)
    local records = redis.call('HMGET', KEYS[6], unpack(ids))
    for i = 1, #ids do
      if records[i] and string.sub(records[i], 1, #hdr) == hdr then
        heads[lane] = records[i]
        break
      end
    end
  end
end
return {now_ms(), waiting, redis.call('ZCARD', KEYS[4]), heads, redis.call('HGETALL', KEYS[5])}
