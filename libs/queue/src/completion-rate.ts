/**
 * Jobs per second over the last minute, kept cheaply: each channel counts its ended claims per 5-second bucket
 * (bucket = floor(epoch ms / 5000)), and a reader sums the buckets of the last minute. Buckets older than that are
 * dropped when a new bucket starts, so a channel keeps at most a dozen numbers. MemoryQueue keeps the buckets in a
 * map; RedisQueue in one hash per channel, written by the complete script (see redis-keys.ts).
 */

export const RATE_BUCKET_MS = 5_000;
/** buckets in the window: the current (partial) one and the eleven before it */
export const RATE_BUCKETS = 12;
const WINDOW_SECONDS = (RATE_BUCKET_MS * RATE_BUCKETS) / 1000;

export function rateBucket(epochMs: number): number {
  return Math.floor(epochMs / RATE_BUCKET_MS);
}

/** The first bucket still inside the window that ends with `nowBucket`. */
export function firstLiveBucket(nowBucket: number): number {
  return nowBucket - RATE_BUCKETS + 1;
}

/** Completions per second from (bucket, count) pairs; buckets outside the window are ignored. */
export function perSecond(buckets: Iterable<readonly [number, number]>, nowBucket: number): number {
  const first = firstLiveBucket(nowBucket);
  let sum = 0;
  for (const [bucket, count] of buckets) if (bucket >= first && bucket <= nowBucket) sum += count;
  return sum / WINDOW_SECONDS;
}
