-- Ends claimed jobs whose receipt is still live (an ack, or a job's last step), each atomically with what follows
-- from it; a dead receipt (another consumer owns the job now) changes nothing.
-- Counts the claims it ends in the channel's completion buckets (see completion-rate.ts): one HINCRBY per call.
-- KEYS: leases (of the channel), jobs, receipts, wait-result, status, uniq, results, results expiry, completion
-- buckets (of the channel).
-- ARGV: keepMs, the job result channel prefix, the worker result channel prefix, the PENDING status, the bucket
-- length (ms), the buckets in the window, then per claim
-- (id, receipt, what, uniq key or '', worker id, result, keep), where `what` is
--   'a'  ack: only forget the job;
--   'c'  continues (a retry or the next run is an RDB row now): forget it, set its status PENDING;
--   'f'  final: forget it, delete its status, free its uniq key if it holds it.
-- and `keep` is '' (no result), '0' (publish the result on the job's and the worker's result channels) or '1'
-- (publish it and keep it for keepMs).
-- Returns one code per claim: 1 done, 0 the receipt was dead.
-- @include prelude.lua
local keep_ms, job_prefix, worker_prefix, pending = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local bucket_ms, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local STRIDE, FIRST = 7, 7
local ids = {}
for i = FIRST, #ARGV, STRIDE do ids[#ids + 1] = ARGV[i] end
local live = redis.call('HMGET', KEYS[3], unpack(ids))
local codes, done, statuses, gone, kept, expiries = {}, {}, {}, {}, {}, {}
local now = nil
for i, id in ipairs(ids) do
  local at = FIRST + (i - 1) * STRIDE
  if live[i] ~= ARGV[at + 1] then
    codes[i] = 0
  else
    codes[i] = 1
    done[#done + 1] = id
    local what, uniq = ARGV[at + 2], ARGV[at + 3]
    if what == 'c' then
      statuses[#statuses + 1] = id
      statuses[#statuses + 1] = pending
    elseif what == 'f' then
      gone[#gone + 1] = id
      if uniq ~= '' and redis.call('HGET', KEYS[6], uniq) == id then redis.call('HDEL', KEYS[6], uniq) end
    end
    local result, keep = ARGV[at + 5], ARGV[at + 6]
    if keep ~= '' then
      if keep == '1' then
        now = now or now_ms()
        kept[#kept + 1] = id
        kept[#kept + 1] = result
        expiries[#expiries + 1] = int(now + keep_ms)
        expiries[#expiries + 1] = id
      end
      redis.call('PUBLISH', job_prefix .. id, result)
      redis.call('PUBLISH', worker_prefix .. ARGV[at + 4], result)
    end
  end
end
if #done > 0 then
  redis.call('HDEL', KEYS[3], unpack(done))
  redis.call('ZREM', KEYS[1], unpack(done))
  redis.call('HDEL', KEYS[2], unpack(done))
  redis.call('SREM', KEYS[4], unpack(done))
  if #statuses > 0 then redis.call('HSET', KEYS[5], unpack(statuses)) end
  if #gone > 0 then redis.call('HDEL', KEYS[5], unpack(gone)) end
  now = now or now_ms()
  local bucket = math.floor(now / bucket_ms)
  if redis.call('HINCRBY', KEYS[9], int(bucket), #done) == #done then
    -- a new bucket: drop those that left the window; the hash goes once the channel is idle for a whole window
    local old = {}
    for _, field in ipairs(redis.call('HKEYS', KEYS[9])) do
      if tonumber(field) <= bucket - window then old[#old + 1] = field end
    end
    if #old > 0 then redis.call('HDEL', KEYS[9], unpack(old)) end
    redis.call('PEXPIRE', KEYS[9], int(bucket_ms * (window + 1)))
  end
end
if #kept > 0 then
  -- drops a few expired results each time, more than it adds, so the kept results do not grow past keepMs
  local expired = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', int(now), 'LIMIT', 0, #kept + 16)
  if #expired > 0 then
    redis.call('HDEL', KEYS[7], unpack(expired))
    redis.call('ZREM', KEYS[8], unpack(expired))
  end
  redis.call('HSET', KEYS[7], unpack(kept))
  redis.call('ZADD', KEYS[8], unpack(expiries))
end
return codes
