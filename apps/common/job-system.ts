/**
 * The queue side of a process, picked from the storage mode:
 * - Standalone: in-memory queue, job state, result bus and wake hints (one process holds them all);
 * - Scalable: Redis adapters of the same ports, job ids issued from a node id leased in Redis (none while the lease
 *   is lost), wake hints over pub/sub.
 */
import type { Config } from '../../libs/config/src/index.js';
import type { IdGenerator, Logger } from '../../libs/core/src/index.js';
import { TimeOrderedIdGenerator } from '../../libs/core/src/index.js';
import type { JobQueue, JobStateStore, ProcessRegistry, ResultBus, WakeChannel } from '../../libs/queue/src/index.js';
import {
  createRedisAdapters,
  MemoryProcessRegistry,
  RedisProcessRegistry,
  MemoryJobStateStore,
  MemoryQueue,
  MemoryResultBus,
  MemoryWakeChannel,
  NodeIdLease,
  RedisWakeChannel,
} from '../../libs/queue/src/index.js';

export interface JobSystem {
  readonly queue: JobQueue;
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  readonly ids: IdGenerator;
  /** "RDB rows are due": every process's pollers look at once */
  readonly wake: WakeChannel;
  /** the live processes (heartbeats): this one in Standalone, the cluster's in Scalable */
  readonly processes: ProcessRegistry;
  /** the node id job ids are issued from now (0 in Standalone) */
  nodeId(): number;
  close(): Promise<void>;
}

/** Who hears of the queue side's troubles and lease ends (the process's metrics). */
export interface JobSystemObservers {
  /** a Redis call failed */
  readonly onRedisError?: () => void;
  /** a claim took back jobs whose lease had run out */
  readonly onLeasesLapsed?: (channel: string, count: number) => void;
}

export async function createJobSystem(
  config: Config,
  logger: Logger,
  observers: JobSystemObservers = {},
): Promise<JobSystem> {
  return config.storageType === 'Standalone'
    ? memoryPorts(config, observers)
    : await redisPorts(config, logger, observers);
}

function memoryPorts(config: Config, observers: JobSystemObservers): JobSystem {
  const state = new MemoryJobStateStore();
  const bus = new MemoryResultBus({ keepMs: config.queue.expireJobResultMs });
  // the queue reserves uniq keys, sets statuses and publishes results in the same step as a job's own
  const queue = new MemoryQueue({
    maxPendingPerChannel: config.queue.maxPendingPerChannel,
    maxPendingTotal: config.queue.maxPendingTotal,
    state,
    results: bus,
    onLeasesLapsed: observers.onLeasesLapsed,
  });
  const wake = new MemoryWakeChannel();
  const processes = new MemoryProcessRegistry({ timeoutMs: config.processes.heartbeatTimeoutMs });
  return {
    queue,
    state,
    bus,
    wake,
    processes,
    ids: new TimeOrderedIdGenerator(0),
    nodeId: () => 0,
    close: async () => {
      await Promise.all([queue.close(), state.close(), bus.close(), wake.close(), processes.close()]);
    },
  };
}

async function redisPorts(config: Config, logger: Logger, observers: JobSystemObservers): Promise<JobSystem> {
  const { onRedisError } = observers;
  const redis = onRedisError === undefined ? config.redis : { ...config.redis, onError: () => onRedisError() };
  const lease = await NodeIdLease.acquire({
    redis,
    keyPrefix: redis.keyPrefix,
    onLost: (nodeId, reason) =>
      logger.error(
        { nodeId, reason },
        'lost the node id lease in Redis; no job ids are issued (Enqueue answers UNAVAILABLE) until a node id is leased again',
      ),
    onRegained: (nodeId) => logger.info({ nodeId }, 'leased a node id in Redis again; issuing job ids'),
  });
  const adapters = createRedisAdapters({
    redis,
    keyPrefix: redis.keyPrefix,
    maxPendingPerChannel: config.queue.maxPendingPerChannel,
    maxPendingTotal: config.queue.maxPendingTotal,
    keepResultMs: config.queue.expireJobResultMs,
    onHandlerError: (err) => logger.warn({ err }, 'a Redis listener failed'),
    onLeasesLapsed: observers.onLeasesLapsed,
  });
  const wake = new RedisWakeChannel({ redis, keyPrefix: redis.keyPrefix });
  const processes = new RedisProcessRegistry({
    redis,
    keyPrefix: redis.keyPrefix,
    timeoutMs: config.processes.heartbeatTimeoutMs,
    onBadEntry: (reason) => logger.warn({ reason }, 'skipped a process entry in Redis that cannot be read'),
  });
  logger.info({ nodeId: lease.nodeId }, 'leased a node id in Redis');
  return {
    ...adapters,
    wake,
    processes,
    ids: lease,
    nodeId: () => lease.nodeId,
    close: async () => {
      await Promise.all([adapters.close(), wake.close(), processes.close()]);
      await lease.release();
    },
  };
}
