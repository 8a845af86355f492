-- Extends a live lease. KEYS: leases, receipts. ARGV: id, receipt, leaseMs. Returns the new lease end, or 0 when the
-- receipt is dead.
-- @include prelude.lua
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local leaseUntil = now_ms() + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], int(leaseUntil), ARGV[1])
return leaseUntil
