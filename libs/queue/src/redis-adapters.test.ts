import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { startRedisCluster } from '../../../test/support/redis-cluster.js';
import { DeadlineExceededError, encodeJobResult, JobStatus, UnavailableError } from '../../core/src/index.js';
import type { RedisAdapters } from './redis-adapters.js';
import { createRedisAdapters } from './redis-adapters.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { purgeRedisNamespace } from './redis-namespace.js';
import { testJob, testJobResult } from './testing/index.js';
import { waitUntil } from './testing/wait-until.js';

const KEEP_MS = 60_000;
/** a wait for something that should happen at once; generous for a loaded machine */
const PROMPT_MS = 2_000;

let cluster: Promise<RedisClusterHandle> | undefined;
afterAll(async () => {
  await (await cluster)?.stop();
});

const backends: ReadonlyArray<{ name: string; redis: () => Promise<RedisConnectionOptions> }> = [
  { name: 'single Redis', redis: async () => ({ url: 'redis://127.0.0.1:6379', cluster: false }) },
  {
    name: 'Redis Cluster',
    redis: async () => ({ url: (await (cluster ??= startRedisCluster())).url, cluster: true }),
  },
];

/** Two processes (a front and a worker, say) sharing one Redis namespace, each with its own adapters. */
describe.each(backends)('Redis adapters of two processes on $name', ({ redis }) => {
  let options: RedisConnectionOptions;
  let keyPrefix: string;
  let front: RedisAdapters;
  let worker: RedisAdapters;

  const start = async (): Promise<void> => {
    options = await redis();
    keyPrefix = `jwtest-${randomUUID()}`;
    const make = (): RedisAdapters =>
      createRedisAdapters({ redis: options, keyPrefix, maxPendingPerChannel: 100, keepResultMs: KEEP_MS });
    front = make();
    worker = make();
  };

  afterEach(async () => {
    await Promise.all([front.close(), worker.close()]);
    await purgeRedisNamespace(options, keyPrefix);
  });

  it('a Listen on the front gets a result the worker kept before the call, and one it publishes later', async () => {
    await start();
    const early = testJobResult(1, 7);
    await worker.bus.publish(early, { keep: true });
    expect((await front.bus.waitForJob(1, 10_000)).decode()).toEqual(early);

    const late = testJobResult(2, 7);
    const waiting = front.bus.waitForJob(2, 10_000);
    await sleep(100);
    await worker.bus.publish(late, { keep: false });
    expect((await waiting).decode()).toEqual(late);
    await waitUntil(() => front.bus.stats().channels === 0, 'the front to leave the job channels');
    expect(front.bus.stats()).toEqual({ waitedJobs: 0, channels: 0 });
  });

  it('a wait with a sub-second timeout ends on time with DeadlineExceededError', async () => {
    await start();
    const started = performance.now();
    const error: unknown = await front.bus.waitForJob(3, 150).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(150 + 1_000);
  });

  it("ListenStreamByWorker on the front hears the worker's results", async () => {
    await start();
    const heard: number[] = [];
    const unsubscribe = await front.bus.subscribeWorker(7, (result) => heard.push(result.jobId));
    await worker.bus.publish(testJobResult(1, 7), { keep: false });
    await worker.bus.publish(testJobResult(2, 8), { keep: true });
    await worker.bus.publish(testJobResult(3, 7), { keep: true });
    await waitUntil(() => heard.length >= 2, 'two results of worker 7');
    expect(heard).toEqual([1, 3]);
    await unsubscribe();
  });

  it('a waiter finds a kept result whose message it missed, by re-reading it', async () => {
    await start();
    const { host, port } = hostPort(options.url);
    const raw = options.cluster ? new Cluster([{ host, port }]) : new Redis(port, host);
    try {
      const result = testJobResult(4, 7);
      const waiting = front.bus.waitForJob(4, 10_000);
      await sleep(100);
      // the result lands without a message, as if the subscriber had been reconnecting when it was published
      const keys = new RedisKeys(keyPrefix);
      await raw.hset(keys.results, '4', Buffer.from(encodeJobResult(result)));
      await raw.zadd(keys.resultsExpiry, Date.now() + KEEP_MS, '4');
      const started = performance.now();
      expect((await waiting).decode()).toEqual(result);
      expect(performance.now() - started).toBeLessThan(1_000 + PROMPT_MS);
    } finally {
      raw.disconnect();
    }
  });

  it('a uniq key held through one process is refused to another until released', async () => {
    await start();
    expect(await front.state.acquireUniqKey('nightly', 1)).toBe(true);
    expect(await worker.state.acquireUniqKey('nightly', 2)).toBe(false);
    await worker.state.releaseUniqKey('nightly', 2);
    expect(await worker.state.acquireUniqKey('nightly', 1)).toBe(true);
    await worker.state.releaseUniqKey('nightly', 1);
    expect(await front.state.acquireUniqKey('nightly', 2)).toBe(true);
  });

  it('a cancellation made through one process is heard and seen by another', async () => {
    await start();
    const heard: number[] = [];
    const unsubscribe = await worker.state.onCancel((jobId) => heard.push(jobId));
    await front.state.cancel(5, 10_000);
    await waitUntil(() => heard.length >= 1, 'the cancellation');
    expect(heard).toEqual([5]);
    expect(await worker.state.isCancelled(5)).toBe(true);
    await unsubscribe();
  });

  it('statuses set by one process are listed by another, ordered by id', async () => {
    await start();
    await front.state.setStatus(20, JobStatus.PENDING);
    await worker.state.setStatus(3, JobStatus.RUNNING);
    expect(await front.state.listStatuses()).toEqual([
      { jobId: 3, status: JobStatus.RUNNING },
      { jobId: 20, status: JobStatus.PENDING },
    ]);
  });

  it('a job enqueued by the front is claimed by the worker; close() closes all three adapters', async () => {
    await start();
    await front.queue.enqueue(testJob(1), 'ch');
    const [claim] = await worker.queue.claim('ch', { max: 1, waitMs: 5_000, leaseMs: KEEP_MS });
    expect(claim?.job).toEqual(testJob(1));
    await worker.queue.ack(claim!);
    await front.close();
    await expect(front.queue.count()).rejects.toBeInstanceOf(UnavailableError);
    await expect(front.state.getStatus(1)).rejects.toBeInstanceOf(UnavailableError);
    await expect(front.bus.getKept(1)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe.each(backends)('purgeRedisNamespace on $name', ({ redis }) => {
  it('deletes every key of the namespace and nothing else', async () => {
    const options = await redis();
    const keyPrefix = `jwtest-${randomUUID()}`;
    const neighbour = `${keyPrefix}x`;
    const make = (prefix: string): RedisAdapters =>
      createRedisAdapters({ redis: options, keyPrefix: prefix, maxPendingPerChannel: 100, keepResultMs: KEEP_MS });
    const mine = make(keyPrefix);
    const theirs = make(neighbour);
    try {
      for (const adapters of [mine, theirs]) {
        await adapters.queue.enqueue(testJob(1), 'a');
        await adapters.queue.enqueue(testJob(2), 'b');
        await adapters.queue.claim('b', { max: 1, waitMs: 0, leaseMs: KEEP_MS });
        await adapters.state.setStatus(1, JobStatus.PENDING);
        await adapters.state.acquireUniqKey('u', 1);
        await adapters.state.cancel(2, KEEP_MS);
        await adapters.bus.publish(testJobResult(3, 7), { keep: true });
      }
      expect(await purgeRedisNamespace(options, keyPrefix)).toBeGreaterThanOrEqual(10);
      expect(await keysOf(options, keyPrefix)).toEqual([]);
      expect((await keysOf(options, neighbour)).length).toBeGreaterThanOrEqual(10);
      expect(await theirs.queue.count()).toBe(2);
    } finally {
      await Promise.all([mine.close(), theirs.close()]);
      await purgeRedisNamespace(options, neighbour);
    }
  });
});

/** Every key in Redis that belongs to the namespace, found by a SCAN of each master. */
async function keysOf(options: RedisConnectionOptions, keyPrefix: string): Promise<string[]> {
  const { host, port } = hostPort(options.url);
  const client = options.cluster ? new Cluster([{ host, port }]) : new Redis(port, host);
  try {
    await client.ping();
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    const found: string[] = [];
    for (const node of nodes) {
      for (const pattern of new RedisKeys(keyPrefix).patterns) {
        for await (const keys of node.scanStream({ match: pattern })) found.push(...(keys as string[]));
      }
    }
    return found;
  } finally {
    client.disconnect();
  }
}

function hostPort(url: string): { host: string; port: number } {
  const first = new URL(url.split(',')[0] as string);
  return { host: first.hostname, port: Number(first.port) };
}
