/**
 * The BullMQ side of each scenario, on the same Redis as ours, each under a key prefix of its own that is deleted
 * afterwards. Jobs are added by the benchmark process (one Queue, `concurrency` adds in flight) and run by a BullMQ
 * Worker in a separate process (bullmq-worker-process.ts); completions are seen through QueueEvents, BullMQ's
 * counterpart of our ListenStreamByWorker.
 */
import { Queue, QueueEvents } from 'bullmq';
import { benchScript, REPO_ROOT } from './bench-paths.js';
import { bullmqConnection } from './bullmq-connection.js';
import type { BullmqWorkerConfig } from './bullmq-worker-config.js';
import { BULLMQ_WORKER_ENV, BULLMQ_WORKER_READY_LINE } from './bullmq-worker-config.js';
import type { BacklogFigures } from './backlog.js';
import { waitUntil } from './backlog.js';
import { batchingEnqueue } from './batching-enqueue.js';
import { CompletionTracker } from './completion-tracker.js';
import { CpuMeter, processCpu, redisCpu, selfCpu } from './cpu-meter.js';
import { jobPayload } from './job-payload.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import { measureRoundTrips } from './measure-round-trips.js';
import type { EnqueueJob, ThroughputFigures, ThroughputRun } from './measure-throughput.js';
import { cpuMsPerJob, measureThroughput } from './measure-throughput.js';
import type { NodeProcess } from './node-process.js';
import { startNodeProcess } from './node-process.js';
import type { QueuedMemoryFigures } from './redis-memory.js';
import { deleteKeysContaining, measureQueuedMemory } from './redis-memory.js';
import { uniqueName } from './unique-name.js';

export interface BullmqSettings {
  readonly redisUrl: string;
  /** the Worker's concurrency */
  readonly workerConcurrency: number;
}

const QUEUE = 'echo';
/** BullMQ writes about four events per job (added, waiting, active, completed) to its events stream. */
const EVENTS_PER_JOB = 4;
const DEFAULT_EVENTS_MAX_LEN = 10_000;

/** One measured BullMQ throughput phase: its run sizes, and addBulk's batch size (single adds when undefined). */
export interface BullmqPhase {
  readonly run: ThroughputRun;
  readonly batchSize?: number;
}

export interface BullmqThroughput {
  readonly figures: ThroughputFigures;
  readonly workerPeakRssBytes: number | undefined;
  readonly workerCpuMsPerJob: number | undefined;
}

/**
 * Throughput, phase after phase on the same worker process: `run.jobs` adds per phase, removed on completion (as our
 * NO_RESULT jobs keep nothing); with `batchSize`, the jobs are added with addBulk, that many per call. The events
 * stream is made long enough to hold every event of a phase, so a QueueEvents reader that falls behind misses none.
 */
export async function bullmqThroughput<const P extends readonly BullmqPhase[]>(
  settings: BullmqSettings,
  phases: P,
): Promise<{ -readonly [K in keyof P]: BullmqThroughput }> {
  return withBullmq(settings, true, async ({ connection, prefix, worker }) => {
    const longest = Math.max(...phases.map(({ run }) => run.jobs + run.warmupJobs));
    const maxLen = Math.max(DEFAULT_EVENTS_MAX_LEN, EVENTS_PER_JOB * (longest + 100));
    const queue = new Queue(QUEUE, {
      connection,
      prefix,
      streams: { events: { maxLen } },
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    const events = new QueueEvents(QUEUE, { connection, prefix });
    try {
      // the queue's settings (the events stream length) are written before the first add
      await queue.getVersion();
      const completions = new CompletionTracker();
      events.on('completed', ({ jobId }) => completions.record(jobId));
      await events.waitUntilReady();
      const results: BullmqThroughput[] = [];
      for (const { run, batchSize } of phases) {
        const cpu = new CpuMeter([
          selfCpu('benchmark client'),
          processCpu(worker!.name, worker!.pid),
          redisCpu('redis', settings.redisUrl),
        ]);
        const figures = await measureThroughput(addJobs(queue, batchSize), completions, run, cpu);
        results.push({
          figures,
          workerPeakRssBytes: worker!.peakRssBytes(),
          workerCpuMsPerJob: cpuMsPerJob(figures, worker!.name),
        });
      }
      // one result per phase, in order
      return results as { -readonly [K in keyof P]: BullmqThroughput };
    } finally {
      await events.close();
      await queue.close();
    }
  });
}

/**
 * The backlog: `jobs` jobs added with addBulk (removed on completion) with no worker running (Redis memory
 * measured), then one worker process started to drain them (its peak RSS measured, and the time it took).
 */
export async function bullmqBacklog(
  settings: BullmqSettings,
  jobs: number,
  batchSize: number,
  concurrency: number,
  timeoutMs: number,
): Promise<BacklogFigures> {
  return withBullmq(settings, false, async ({ connection, prefix }) => {
    const queue = new Queue(QUEUE, {
      connection,
      prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    let worker: NodeProcess | undefined;
    try {
      await queue.getVersion();
      const memory = await measureQueuedMemory(settings.redisUrl, prefix, jobs, concurrency, addJobs(queue, batchSize));
      worker = await startWorker(settings, prefix);
      const drainSeconds = await waitUntil(
        async () =>
          Object.values(await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed')).every((n) => n === 0),
        timeoutMs,
        `${jobs} backlog jobs to finish`,
      );
      return { jobs, memory, drainSeconds, workerPeakRssBytes: worker.peakRssBytes() };
    } finally {
      await worker?.stop();
      await queue.close();
    }
  });
}

/** Adds job number i: one `add` each, or `addBulk` calls of `batchSize` jobs. */
function addJobs(queue: Queue, batchSize: number | undefined): EnqueueJob {
  const data = (i: number) => ({ payload: jobPayload(i) });
  if (batchSize === undefined) return async (i) => (await queue.add('echo', data(i))).id!;
  return batchingEnqueue(batchSize, async (indexes) =>
    (await queue.addBulk(indexes.map((i) => ({ name: 'echo', data: data(i) })))).map((job) => job.id!),
  );
}

/** DIRECT's counterpart: `add`, then `job.waitUntilFinished(queueEvents)`, one job at a time. */
export async function bullmqRoundTrips(
  settings: BullmqSettings,
  trips: number,
  warmupTrips: number,
  timeoutMs: number,
): Promise<RoundTripFigures> {
  return withBullmq(settings, true, async ({ connection, prefix }) => {
    const queue = new Queue(QUEUE, { connection, prefix });
    const events = new QueueEvents(QUEUE, { connection, prefix });
    try {
      await events.waitUntilReady();
      return await measureRoundTrips(
        async (i) => {
          const job = await queue.add('echo', { payload: jobPayload(i) });
          await job.waitUntilFinished(events, timeoutMs);
        },
        trips,
        warmupTrips,
      );
    } finally {
      await events.close();
      await queue.close();
    }
  });
}

/** Redis memory of `jobs` waiting jobs (no worker runs), with BullMQ's default queue options. */
export async function bullmqQueuedMemory(
  settings: BullmqSettings,
  jobs: number,
  concurrency: number,
): Promise<QueuedMemoryFigures> {
  return withBullmq(settings, false, async ({ connection, prefix }) => {
    const queue = new Queue(QUEUE, { connection, prefix });
    try {
      await queue.getVersion();
      return await measureQueuedMemory(settings.redisUrl, prefix, jobs, concurrency, addJobs(queue, undefined));
    } finally {
      await queue.close();
    }
  });
}

interface BullmqContext {
  readonly connection: ReturnType<typeof bullmqConnection>;
  readonly prefix: string;
  /** the worker process, when the scenario runs one */
  readonly worker: NodeProcess | undefined;
}

/** Runs `body` under a fresh key prefix (with a worker process if asked), then stops the worker, deletes the keys. */
async function withBullmq<T>(
  settings: BullmqSettings,
  withWorker: boolean,
  body: (context: BullmqContext) => Promise<T>,
): Promise<T> {
  const prefix = uniqueName('bullbench');
  let worker: NodeProcess | undefined;
  try {
    if (withWorker) worker = await startWorker(settings, prefix);
    return await body({ connection: bullmqConnection(settings.redisUrl), prefix, worker });
  } finally {
    await worker?.stop();
    await deleteKeysContaining(settings.redisUrl, prefix);
  }
}

async function startWorker(settings: BullmqSettings, prefix: string): Promise<NodeProcess> {
  const config: BullmqWorkerConfig = {
    redisUrl: settings.redisUrl,
    queue: QUEUE,
    prefix,
    concurrency: settings.workerConcurrency,
  };
  const { script, execArgv } = benchScript('bullmq-worker-process');
  return startNodeProcess({
    name: 'bullmq worker',
    script,
    execArgv,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? REPO_ROOT,
      [BULLMQ_WORKER_ENV]: JSON.stringify(config),
    },
    cwd: REPO_ROOT,
    ready: new RegExp(BULLMQ_WORKER_READY_LINE),
  });
}
