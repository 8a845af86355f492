import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisJobStateStore } from './redis-job-state-store.js';
import { RedisQueue } from './redis-queue.js';
import { RedisResultBus } from './redis-result-bus.js';

export interface RedisAdaptersOptions {
  readonly redis: RedisConnectionOptions;
  /** The namespace of every key and channel (REDIS_KEY_PREFIX); no braces or glob characters. */
  readonly keyPrefix: string;
  /** Jobs that may wait per channel before enqueue answers UnavailableError (JOB_QUEUE_MAX_PENDING). */
  readonly maxPendingPerChannel: number;
  /** Jobs the whole queue may hold (JOB_QUEUE_MAX_PENDING_TOTAL). @default no total cap */
  readonly maxPendingTotal?: number | undefined;
  /** How long a kept result stays available to late listeners, ms (JOB_QUEUE_EXPIRE_JOB_RESULT_SECONDS). */
  readonly keepResultMs: number;
  /** Told when a cancellation or result listener throws. @default a process warning */
  readonly onHandlerError?: ((error: unknown) => void) | undefined;
  /** Told how many jobs a claim took back from leases that had run out (RedisQueueOptions.onLeasesLapsed). */
  readonly onLeasesLapsed?: ((channel: string, count: number) => void) | undefined;
}

/** The three Scalable adapters of one process, sharing a Redis and a namespace. */
export interface RedisAdapters {
  readonly queue: RedisQueue;
  readonly state: RedisJobStateStore;
  readonly bus: RedisResultBus;
  /** Closes all three. */
  close(): Promise<void>;
}

/** Makes the queue, state store and result bus of a Scalable process; each opens its own connections. */
export function createRedisAdapters(options: RedisAdaptersOptions): RedisAdapters {
  const { redis, keyPrefix, onHandlerError } = options;
  const queue = new RedisQueue({
    redis,
    keyPrefix,
    maxPendingPerChannel: options.maxPendingPerChannel,
    maxPendingTotal: options.maxPendingTotal,
    keepResultMs: options.keepResultMs,
    onLeasesLapsed: options.onLeasesLapsed,
  });
  const state = new RedisJobStateStore({ redis, keyPrefix, onHandlerError });
  const bus = new RedisResultBus({ redis, keyPrefix, keepMs: options.keepResultMs, onHandlerError });
  return {
    queue,
    state,
    bus,
    close: async () => {
      await Promise.all([queue.close(), state.close(), bus.close()]);
    },
  };
}
