-- Returns lapsed leases of the channel to the front of their lanes (earliest lease first), then leases up to `max`
-- waiting jobs, lane 0 first. An id whose record is gone (removed lazily), belongs to another channel or lane (removed,
-- then enqueued again elsewhere) or is claimed already (a stale duplicate) is dropped from its lane and skipped.
-- KEYS: lane 0, lane 1, lane 2, leases, wake (of the channel), jobs, receipts, seq, wait-result.
-- ARGV: max, leaseMs, channel.
-- Returns {leaseUntil, ms until the earliest lease of the channel ends (-1: none), how many lapsed leases it put back,
-- then (receipt, record) per job}.
-- @include prelude.lua
local now = now_ms()
local channel = ARGV[3]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', int(now), 'LIMIT', 0, 1000)
local put_back = 0
if #lapsed > 0 then
  local records = redis.call('HMGET', KEYS[6], unpack(lapsed))
  local back = {{}, {}, {}}
  -- LPUSH puts its last argument first: push the latest lease end first so the earliest ends up in front
  for i = #lapsed, 1, -1 do
    if records[i] then
      local ids_of_lane = back[tonumber(string.sub(records[i], 1, 1)) + 1]
      ids_of_lane[#ids_of_lane + 1] = lapsed[i]
      put_back = put_back + 1
    end
  end
  redis.call('ZREM', KEYS[4], unpack(lapsed))
  redis.call('HDEL', KEYS[7], unpack(lapsed))
  redis.call('SREM', KEYS[9], unpack(lapsed))
  for lane = 1, 3 do
    if #back[lane] > 0 then redis.call('LPUSH', KEYS[lane], unpack(back[lane])) end
  end
end
local max = tonumber(ARGV[1])
local leaseUntil = now + tonumber(ARGV[2])
local out = {leaseUntil, -1, put_back}
local seq0 = tonumber(redis.call('GET', KEYS[8]) or '0')
local seq = seq0
local receipts, leases, taken = {}, {}, {}
local count = 0
local lease = int(leaseUntil)
for lane = 1, 3 do
  local hdr = header(lane - 1, channel)
  while count < max do
    local want = max - count
    local popped = redis.call('LPOP', KEYS[lane], want)
    if not popped then break end
    local records = redis.call('HMGET', KEYS[6], unpack(popped))
    local claimed = redis.call('HMGET', KEYS[7], unpack(popped))
    for i, id in ipairs(popped) do
      local record = records[i]
      if record and not claimed[i] and not taken[id] and string.sub(record, 1, #hdr) == hdr then
        taken[id] = true
        count = count + 1
        seq = seq + 1
        local receipt = int(seq)
        receipts[#receipts + 1] = id
        receipts[#receipts + 1] = receipt
        leases[#leases + 1] = lease
        leases[#leases + 1] = id
        out[#out + 1] = receipt
        out[#out + 1] = record
      end
    end
    if #popped < want then break end
  end
end
if count > 0 then
  redis.call('HSET', KEYS[7], unpack(receipts))
  redis.call('ZADD', KEYS[4], unpack(leases))
  redis.call('SET', KEYS[8], int(seq))
end
ensure_wake(KEYS[1], KEYS[2], KEYS[3], KEYS[5])
local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
if #first > 0 then out[2] = math.max(0, tonumber(first[2]) - now) end
return out
