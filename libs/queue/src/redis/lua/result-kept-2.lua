-- A kept result that has not expired, or nil. KEYS: results, results expiry. ARGV: job id.
-- @include prelude.lua
local expiry = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not expiry or tonumber(expiry) <= now_ms() then return false end
return redis.call('HGET', KEYS[1], ARGV[1])
