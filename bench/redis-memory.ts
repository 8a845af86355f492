/**
 * Redis memory taken by queued jobs, measured two ways around the same enqueue run:
 * - used_memory from INFO memory after − before (what the server really grew by, but anything else using the
 *   same Redis at the time shows up in it too);
 * - the sum of MEMORY USAGE (SAMPLES 0: exact) over every key whose name contains the run's unique namespace
 *   marker (only this run's keys, but without the allocator's overhead outside them).
 * Both are scaled to 100,000 jobs.
 */
import { Redis } from 'ioredis';
import type { EnqueueJob } from './measure-throughput.js';
import { runConcurrently } from './run-concurrently.js';

export interface QueuedMemoryFigures {
  readonly jobs: number;
  readonly usedMemoryBytesPer100k: number;
  readonly keyBytesPer100k: number;
  /** keys matching the marker after the run */
  readonly keys: number;
}

const PER = 100_000;
const SCAN_COUNT = 1000;

/** Enqueues `jobs` jobs with no worker running and measures what they take in Redis. */
export async function measureQueuedMemory(
  redisUrl: string,
  marker: string,
  jobs: number,
  concurrency: number,
  enqueue: EnqueueJob,
): Promise<QueuedMemoryFigures> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    const before = await usedMemory(redis);
    await runConcurrently(jobs, concurrency, async (i) => void (await enqueue(i)));
    const after = await usedMemory(redis);
    const { bytes, keys } = await keyBytes(redis, marker);
    return {
      jobs,
      usedMemoryBytesPer100k: ((after - before) * PER) / jobs,
      keyBytesPer100k: (bytes * PER) / jobs,
      keys,
    };
  } finally {
    redis.disconnect();
  }
}

/** Unlinks every key whose name contains `marker` (BullMQ's keys of one run); returns how many. */
export async function deleteKeysContaining(redisUrl: string, marker: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    let deleted = 0;
    for await (const batch of redis.scanStream({ match: `*${marker}*`, count: SCAN_COUNT })) {
      const keys = batch as string[];
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)\r?$/m.exec(info);
  if (match === null) throw new Error('INFO memory has no used_memory line');
  return Number(match[1]);
}

async function keyBytes(redis: Redis, marker: string): Promise<{ bytes: number; keys: number }> {
  // SCAN may return a key more than once
  const names = new Set<string>();
  for await (const batch of redis.scanStream({ match: `*${marker}*`, count: SCAN_COUNT })) {
    for (const name of batch as string[]) names.add(name);
  }
  let bytes = 0;
  const all = [...names];
  for (let start = 0; start < all.length; start += SCAN_COUNT) {
    const pipeline = redis.pipeline();
    for (const name of all.slice(start, start + SCAN_COUNT)) pipeline.call('MEMORY', 'USAGE', name, 'SAMPLES', '0');
    for (const [err, usage] of (await pipeline.exec()) ?? []) {
      if (err !== null) throw err;
      bytes += Number(usage ?? 0);
    }
  }
  return { bytes, keys: names.size };
}
