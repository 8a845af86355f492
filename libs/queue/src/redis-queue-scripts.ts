import { luaScript } from './redis-lua.js';

/**
 * The Lua scripts of RedisQueue (each documented in its file under redis/lua/); the key layout is in redis-keys.ts.
 * Each runs atomically, so no two claimers can take the same job and a stale receipt can never touch a newer claim.
 * Times come from the Redis clock (TIME), so leases do not depend on the clocks of the processes.
 */
export const enqueueScript = luaScript('queue-enqueue-6');
export const claimScript = luaScript('queue-claim-9');
export const completeScript = luaScript('queue-complete-9');
export const renewScript = luaScript('queue-renew-2');
export const releaseScript = luaScript('queue-release-8');
export const removeScript = luaScript('queue-remove-2');
export const cancelScript = luaScript('queue-cancel-2');
export const statusScript = luaScript('queue-status-3');
export const statusesScript = luaScript('queue-statuses-3');
export const markWaitResultScript = luaScript('queue-mark-wait-result-2');
export const passWakeScript = luaScript('queue-pass-wake-4');
export const channelStatsScript = luaScript('queue-channel-stats-6');
