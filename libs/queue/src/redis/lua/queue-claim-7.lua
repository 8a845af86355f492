-- Returns lapsed leases of the channel to the front of their lanes (earliest lease first), then leases up to `max`
-- waiting jobs, highest priority first.
-- KEYS: pending, leases, wake, jobs, meta, receipts, seq. ARGV: max, leaseMs.
-- Returns {leaseUntil, ms until the earliest lease of the channel ends (-1: none), then (receipt, payload) per job}.
-- @include prelude.lua
local now = now_ms()
local seq0 = tonumber(redis.call('GET', KEYS[7]) or '0')
local seq = seq0
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', score(now), 'LIMIT', 0, 1000)
if #lapsed > 0 then
  local metas = redis.call('HMGET', KEYS[5], unpack(lapsed))
  local back = {}
  for i = #lapsed, 1, -1 do
    if metas[i] then
      seq = seq + 1
      back[#back + 1] = score(tonumber(string.sub(metas[i], 1, 1)) * LANE - seq)
      back[#back + 1] = lapsed[i]
    end
  end
  redis.call('ZREM', KEYS[2], unpack(lapsed))
  redis.call('HDEL', KEYS[6], unpack(lapsed))
  if #back > 0 then redis.call('ZADD', KEYS[1], unpack(back)) end
end
local leaseUntil = now + tonumber(ARGV[2])
local out = {leaseUntil, -1}
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
if #popped > 0 then
  local ids = {}
  for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  local payloads = redis.call('HMGET', KEYS[4], unpack(ids))
  local lease = score(leaseUntil)
  local receipts, leases = {}, {}
  for i, id in ipairs(ids) do
    if payloads[i] then
      seq = seq + 1
      local receipt = score(seq)
      receipts[#receipts + 1] = id
      receipts[#receipts + 1] = receipt
      leases[#leases + 1] = lease
      leases[#leases + 1] = id
      out[#out + 1] = receipt
      out[#out + 1] = payloads[i]
    end
  end
  if #receipts > 0 then
    redis.call('HSET', KEYS[6], unpack(receipts))
    redis.call('ZADD', KEYS[2], unpack(leases))
  end
end
if seq ~= seq0 then redis.call('SET', KEYS[7], score(seq)) end
ensure_wake(KEYS[1], KEYS[3])
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first > 0 then out[2] = math.max(0, tonumber(first[2]) - now) end
return out
