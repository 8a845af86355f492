import { RedisScript } from './redis-script.js';

/**
 * The Lua scripts of RedisQueue; the key layout is in redis-keys.ts. Each runs atomically, so no two claimers can
 * take the same job and a stale receipt can never touch a newer claim. Times come from the Redis clock (TIME), so
 * leases do not depend on the clocks of the processes.
 *
 * Scores are written with %.0f: Redis turns a Lua number into text with 14 significant digits, too few for a lane
 * score (up to 3·10^15).
 */

/** Helpers shared by the scripts. */
const PRELUDE = `
local LANE = 1e15
local function score(n) return string.format('%.0f', n) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure_wake(pending, wake)
  if redis.call('ZCARD', pending) > 0 then
    if redis.call('LLEN', wake) == 0 then redis.call('RPUSH', wake, '1') end
  else
    redis.call('DEL', wake)
  end
end
`;

/**
 * Adds jobs to the back of their lanes.
 * KEYS: pending, wake, jobs, meta, ids, seq. ARGV: maxPending, maxTotal (0 = none), channel, then (id, lane, payload)
 * per job. Returns one code per job: 1 added, 0 the id is already waiting or claimed, -1 the channel is full, -2 the
 * whole queue (waiting and claimed jobs of every channel) is full.
 */
export const enqueueScript = new RedisScript(
  'jwQueueEnqueue',
  6,
  `${PRELUDE}
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
`,
);

/**
 * Returns lapsed leases of the channel to the front of their lanes (earliest lease first), then leases up to `max`
 * waiting jobs, highest priority first.
 * KEYS: pending, leases, wake, jobs, meta, receipts, seq. ARGV: max, leaseMs.
 * Returns {leaseUntil, ms until the earliest lease of the channel ends (-1: none), then (receipt, payload) per job}.
 */
export const claimScript = new RedisScript(
  'jwQueueClaim',
  7,
  `${PRELUDE}
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
`,
);

/**
 * Forgets claimed jobs whose receipt is still live.
 * KEYS: leases, jobs, meta, ids, receipts. ARGV: (id, receipt) per claim. Returns how many were acked.
 */
export const ackScript = new RedisScript(
  'jwQueueAck',
  5,
  `
local ids = {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local live = redis.call('HMGET', KEYS[5], unpack(ids))
local done = {}
for i, id in ipairs(ids) do
  if live[i] == ARGV[2 * i] then done[#done + 1] = id end
end
if #done > 0 then
  redis.call('HDEL', KEYS[5], unpack(done))
  redis.call('ZREM', KEYS[1], unpack(done))
  redis.call('HDEL', KEYS[2], unpack(done))
  redis.call('HDEL', KEYS[3], unpack(done))
  redis.call('ZREM', KEYS[4], unpack(done))
end
return #done
`,
);

/**
 * Extends a live lease. KEYS: leases, receipts. ARGV: id, receipt, leaseMs. Returns the new lease end, or 0 when the
 * receipt is dead.
 */
export const renewScript = new RedisScript(
  'jwQueueRenew',
  2,
  `${PRELUDE}
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local leaseUntil = now_ms() + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], score(leaseUntil), ARGV[1])
return leaseUntil
`,
);

/**
 * Puts a claimed job back at the front of its lane and wakes a claimer.
 * KEYS: pending, leases, wake, meta, receipts, seq. ARGV: id, receipt. Returns 1, or 0 when the receipt is dead.
 */
export const releaseScript = new RedisScript(
  'jwQueueRelease',
  6,
  `${PRELUDE}
local id = ARGV[1]
if redis.call('HGET', KEYS[5], id) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[5], id)
redis.call('ZREM', KEYS[2], id)
local meta = redis.call('HGET', KEYS[4], id)
redis.call('ZADD', KEYS[1], score(tonumber(string.sub(meta, 1, 1)) * LANE - redis.call('INCR', KEYS[6])), id)
ensure_wake(KEYS[1], KEYS[3])
return 1
`,
);

/**
 * Removes a waiting job. Its channel is known only from meta, so the channel keys are built here from their
 * prefixes (same hash tag, same slot).
 * KEYS: jobs, meta, ids. ARGV: id, pending key prefix, wake key prefix. Returns 1, or 0 when the job is not waiting.
 */
export const removeScript = new RedisScript(
  'jwQueueRemove',
  3,
  `${PRELUDE}
local id = ARGV[1]
local meta = redis.call('HGET', KEYS[2], id)
if not meta then return 0 end
local channel = string.sub(meta, 2)
local pending = ARGV[2] .. channel
if redis.call('ZREM', pending, id) == 0 then return 0 end
redis.call('HDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
ensure_wake(pending, ARGV[3] .. channel)
return 1
`,
);

/**
 * Waiting and claimed jobs ordered by id. KEYS: ids, jobs. ARGV: offset, limit (> 0). Returns payloads.
 */
export const listScript = new RedisScript(
  'jwQueueList',
  2,
  `
local ids = redis.call('ZRANGE', KEYS[1], ARGV[1], tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)
local out = {}
for i = 1, #ids do
  local payload = redis.call('HGET', KEYS[2], ids[i])
  if payload then out[#out + 1] = payload end
end
return out
`,
);

/**
 * Hands a wake token on after a claimer that took it went away without claiming: pushes one if jobs wait and none
 * is there. KEYS: pending, wake.
 */
export const passWakeScript = new RedisScript(
  'jwQueuePassWake',
  2,
  `${PRELUDE}
ensure_wake(KEYS[1], KEYS[2])
return 1
`,
);
