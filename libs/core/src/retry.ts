import type { RetryPolicy } from './model.js';
import { RetryType } from './model.js';

/**
 * Whether a job that failed with ERROR_AND_RETRY after `retried` earlier retries runs again.
 * max_retry 0 means no retry; RetryType NONE never retries.
 */
export function shouldRetry(policy: RetryPolicy, retried: number): boolean {
  return policy.type !== RetryType.NONE && policy.maxRetry > 0 && retried < policy.maxRetry;
}

/**
 * Delay in ms before retry number `retried + 1`:
 * CONSTANT interval, LINEAR interval*(retried+1), EXPONENTIAL interval*basis^retried,
 * clamped to max_interval when that is > 0.
 */
export function retryDelayMs(policy: RetryPolicy, retried: number): number {
  let delay: number;
  switch (policy.type) {
    case RetryType.CONSTANT:
      delay = policy.interval;
      break;
    case RetryType.LINEAR:
      delay = policy.interval * (retried + 1);
      break;
    case RetryType.EXPONENTIAL:
      delay = policy.interval * Math.pow(policy.basis, retried);
      break;
    default:
      delay = 0;
  }
  if (!Number.isFinite(delay)) delay = Number.MAX_SAFE_INTEGER;
  if (policy.maxInterval > 0) delay = Math.min(delay, policy.maxInterval);
  return Math.max(0, Math.round(delay));
}

/**
 * A retry delay spread at random around `delayMs` (both ways, so the mean stays `delayMs`): uniform in
 * `[delayMs * (1 - jitter), delayMs * (1 + jitter)]`. `jitter` is a fraction from 0 (no spread) to 1 (anywhere from 0
 * to twice the delay); it spreads retries of jobs that failed together (a receiver's outage) so they do not all
 * come back at once.
 */
export function jitteredDelayMs(delayMs: number, jitter: number, random: () => number = Math.random): number {
  if (jitter <= 0 || delayMs <= 0) return delayMs;
  const spread = Math.min(jitter, 1);
  return Math.max(0, Math.round(delayMs * (1 - spread + 2 * spread * random())));
}

/**
 * When a new periodic job first runs. Its run_after_time sets the phase of the series (jobworkerp: "start job at
 * [epoch second] % 3 == 1" is run_after_time 1000 with a 3000 ms interval): a time already past moves on to the next
 * time on that grid, so every run falls at run_after_time + k * interval. 0 (unset) stays 0: the series starts now.
 */
export function firstPeriodicRunTime(runAfterTime: number, intervalMs: number, now: number): number {
  if (runAfterTime <= 0 || runAfterTime >= now || intervalMs <= 0) return runAfterTime;
  return runAfterTime + Math.ceil((now - runAfterTime) / intervalMs) * intervalMs;
}

/**
 * The next periodic run after a run that was due at `previousRunAfter` (or started at `startTime` when that is 0):
 * previous + interval, advanced to the next future multiple of the interval when ticks were missed (missed ticks are
 * skipped, not replayed).
 */
export function nextPeriodicRunTime(
  previousRunAfter: number,
  startTime: number,
  intervalMs: number,
  now: number,
): number {
  const base = previousRunAfter > 0 ? previousRunAfter : startTime;
  let next = base + intervalMs;
  if (next <= now) {
    const missed = Math.floor((now - base) / intervalMs);
    next = base + (missed + 1) * intervalMs;
  }
  return next;
}
