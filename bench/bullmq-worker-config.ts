/** How the benchmark tells its BullMQ worker process (bullmq-worker-process.ts) what to do, and how it answers. */

export interface BullmqWorkerConfig {
  readonly redisUrl: string;
  readonly queue: string;
  readonly prefix: string;
  readonly concurrency: number;
}

/** The environment variable that carries the JSON of a BullmqWorkerConfig. */
export const BULLMQ_WORKER_ENV = 'BENCH_BULLMQ_WORKER';

/** The line the worker process prints once its Worker listens. */
export const BULLMQ_WORKER_READY_LINE = 'bullmq worker ready';
