/**
 * The BullMQ side's worker process (a child of the benchmark, like our worker process): a BullMQ Worker whose
 * processor does nothing but return its job's data, as our echo plugin returns its args. Configured by the
 * environment (see bullmq-worker-config.ts); prints its ready line once it listens; closes the Worker on
 * SIGTERM/SIGINT.
 */
import { Worker } from 'bullmq';
import { bullmqConnection } from './bullmq-connection.js';
import type { BullmqWorkerConfig } from './bullmq-worker-config.js';
import { BULLMQ_WORKER_ENV, BULLMQ_WORKER_READY_LINE } from './bullmq-worker-config.js';

const raw = process.env[BULLMQ_WORKER_ENV];
if (raw === undefined) throw new Error(`${BULLMQ_WORKER_ENV} is not set: this process is started by the benchmark`);
const config = JSON.parse(raw) as BullmqWorkerConfig;

const worker = new Worker(config.queue, async (job) => job.data as unknown, {
  connection: bullmqConnection(config.redisUrl),
  prefix: config.prefix,
  concurrency: config.concurrency,
});
worker.on('error', (err) => process.stderr.write(`bullmq worker error: ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write(`${BULLMQ_WORKER_READY_LINE}\n`);

const stop = (): void => {
  worker.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bullmq worker close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
