import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import type { RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { startRedisCluster } from '../../../test/support/redis-cluster.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisJobStateStore } from './redis-job-state-store.js';
import { RedisKeys } from './redis-keys.js';
import { purgeRedisNamespace } from './redis-namespace.js';
import { RedisQueue } from './redis-queue.js';
import { RedisResultBus } from './redis-result-bus.js';
import type { RawResultAccess } from './testing/index.js';
import { RedisProcessRegistry } from './redis-process-registry.js';
import {
  jobQueueContract,
  jobStateStoreContract,
  processRegistryContract,
  resultBusContract,
} from './testing/index.js';

/** the contracts' throwing listeners are deliberate: keep their warnings out of the test output */
const ignoreHandlerError = (): void => {};

/** Runs the three contracts against the Redis adapters, each test in a namespace of its own. */
function redisContracts(backend: string, redis: () => RedisConnectionOptions): void {
  const namespace = (): { keyPrefix: string; purge: () => Promise<void> } => {
    const keyPrefix = `jwtest-${randomUUID()}`;
    return { keyPrefix, purge: async () => void (await purgeRedisNamespace(redis(), keyPrefix)) };
  };

  jobQueueContract(`RedisQueue (${backend})`, async ({ maxPendingPerChannel, maxPendingTotal }) => {
    const { keyPrefix, purge } = namespace();
    const keepResultMs = 60_000;
    const queue = new RedisQueue({ redis: redis(), keyPrefix, maxPendingPerChannel, maxPendingTotal, keepResultMs });
    // opened by the tests that use them: connecting takes a while on a loaded machine
    let state: RedisJobStateStore | undefined;
    let bus: RedisResultBus | undefined;
    return {
      queue,
      get state() {
        state ??= new RedisJobStateStore({ redis: redis(), keyPrefix, onHandlerError: ignoreHandlerError });
        return state;
      },
      get bus() {
        bus ??= new RedisResultBus({
          redis: redis(),
          keyPrefix,
          keepMs: keepResultMs,
          onHandlerError: ignoreHandlerError,
        });
        return bus;
      },
      cleanup: async () => {
        await Promise.all([queue.close(), state?.close(), bus?.close()]);
        await purge();
      },
    };
  });

  jobStateStoreContract(`RedisJobStateStore (${backend})`, async () => {
    const { keyPrefix, purge } = namespace();
    const store = new RedisJobStateStore({ redis: redis(), keyPrefix, onHandlerError: ignoreHandlerError });
    return { store, cleanup: async () => (await store.close(), await purge()) };
  });

  resultBusContract(`RedisResultBus (${backend})`, async ({ keepMs, onHandlerError }) => {
    const { keyPrefix, purge } = namespace();
    const bus = new RedisResultBus({ redis: redis(), keyPrefix, keepMs, onHandlerError });
    // a connection of its own writes where the bus reads, as another process would
    const keys = new RedisKeys(keyPrefix);
    const writer = new RedisConnection(redis(), false);
    const raw: RawResultAccess = {
      send: async (channel, bytes) => {
        const name = 'job' in channel ? keys.jobResultChannel(channel.job) : keys.workerResultChannel(channel.worker);
        await writer.run((client) => client.publish(name, Buffer.from(bytes)));
      },
      keep: async (jobId, bytes) => {
        // where the queue's complete and the bus keep results: a hash, and the expiry of each in a zset
        await writer.run((client) =>
          client
            .multi()
            .hset(keys.results, String(jobId), Buffer.from(bytes))
            .zadd(keys.resultsExpiry, Date.now() + keepMs, String(jobId))
            .exec(),
        );
      },
    };
    return { bus, raw, cleanup: async () => (await bus.close(), await writer.close(), await purge()) };
  });

  processRegistryContract(`RedisProcessRegistry (${backend})`, async () => {
    const { keyPrefix, purge } = namespace();
    const opened: RedisProcessRegistry[] = [];
    return {
      open: (timeoutMs) => {
        const registry = new RedisProcessRegistry({ redis: redis(), keyPrefix, timeoutMs });
        opened.push(registry);
        return registry;
      },
      cleanup: async () => {
        await Promise.all(opened.map((registry) => registry.close()));
        await purge();
      },
    };
  });
}

describe('single Redis at 127.0.0.1:6379', () => {
  redisContracts('single Redis', () => ({ url: 'redis://127.0.0.1:6379', cluster: false }));
});

describe('Redis Cluster of 3 masters', () => {
  let cluster: RedisClusterHandle | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  redisContracts('Redis Cluster', () => ({ url: cluster!.url, cluster: true }));
});
