/**
 * One benchmark run: creates the run's MariaDB database, runs every scenario of both systems one after the other
 * (never two at once: they share the machine and the Redis), and drops the database. Progress goes to `progress`.
 */
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './bench-options.js';
import type { BenchReport } from './bench-report.js';
import type { BenchResults } from './bench-results.js';
import type { BullmqSettings } from './bullmq-scenarios.js';
import { bullmqBacklog, bullmqQueuedMemory, bullmqRoundTrips, bullmqThroughput } from './bullmq-scenarios.js';
import type { DeploymentSettings } from './jobworkerp-deployment.js';
import type { OurThroughput } from './jobworkerp-scenarios.js';
import { ourBacklog, ourMetricsCost, ourQueuedMemory, ourRoundTrips, ourThroughput } from './jobworkerp-scenarios.js';
import { machineInfo } from './machine-info.js';
import { createRunDatabase } from './mariadb-database.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import type { ThroughputFigures, ThroughputRun } from './measure-throughput.js';
import type { QueuedMemoryFigures } from './redis-memory.js';
import type { InfoRow } from './report-rows.js';
import { infoRows, metricsCostRows, reportRows } from './report-rows.js';
import type { BacklogFigures } from './backlog.js';
import type { CronTickFigures } from './cron-ticks.js';
import { ourCronTicks } from './cron-ticks.js';

/** Our default JOB_QUEUE_MAX_PENDING; raised when a scenario queues more. */
const DEFAULT_MAX_PENDING = 100_000;
/** Batch calls (EnqueueBatch, addBulk) in flight at once in the batch scenarios. */
const BATCHES_IN_FLIGHT = 8;

export async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const database = await createRunDatabase(options.mariadb);
  try {
    const machine = await machineInfo(options.redisUrl, database.serverVersion);
    const ours: DeploymentSettings = {
      redisUrl: options.redisUrl,
      mariadb: options.mariadb,
      database: database.name,
      workerConcurrency: options.workerConcurrency,
      maxPending: Math.max(
        DEFAULT_MAX_PENDING,
        options.memoryJobs,
        options.jobs + options.warmupJobs,
        options.backlogJobs,
      ),
      cpuProfDir: options.cpuProfDir,
    };
    const bullmq: BullmqSettings = { redisUrl: options.redisUrl, workerConcurrency: options.workerConcurrency };
    const run: ThroughputRun = {
      jobs: options.jobs,
      concurrency: options.concurrency,
      warmupJobs: options.warmupJobs,
      timeoutMs: options.phaseTimeoutMs,
    };
    const batchSize = options.batchSize;
    const batchRun: ThroughputRun = { ...run, concurrency: batchSize * BATCHES_IN_FLIGHT };
    const infoRun: ThroughputRun = {
      ...run,
      jobs: options.infoJobs,
      warmupJobs: Math.min(run.warmupJobs, options.infoJobs),
    };
    const trips = options.directJobs;
    const warmupTrips = Math.min(options.warmupJobs, options.directJobs);
    const timeout = options.phaseTimeoutMs;

    progress(`machine: ${machine.cpu}, ${machine.cores} cores; load average ${machine.loadAverageAtStart.join(' / ')}`);
    // first, while the run's database holds no other results
    const cronTicks = options.cronTicks > 0 ? await cronTickSteps(ours, options.cronTicks, progress) : undefined;
    const [scalableThroughput, scalableBatch, commandInfo, storeInfo] = await step(
      progress,
      'jobworkerp-ts Scalable throughput: Enqueue, EnqueueBatch, COMMAND `true`, store_success=true',
      phasesLine,
      () =>
        ourThroughput(ours, 'Scalable', [
          { run },
          { run: batchRun, variant: { batchSize } },
          { run: infoRun, variant: { worker: { command: 'true' } } },
          { run: infoRun, variant: { worker: { storeSuccess: true } } },
        ]),
    );
    const metricsCost = await step(progress, 'jobworkerp-ts Scalable throughput, METRICS_ADDR off / on', costLine, () =>
      ourMetricsCost(ours, run),
    );
    const scalableDirect = await step(progress, 'jobworkerp-ts Scalable DIRECT', roundTripLine, () =>
      ourRoundTrips(ours, 'Scalable', trips, warmupTrips, timeout),
    );
    const scalableMemory = await step(progress, 'jobworkerp-ts Scalable queued memory', memoryLine, () =>
      ourQueuedMemory(ours, options.memoryJobs, options.concurrency),
    );
    const [standaloneThroughput, standaloneBatch] = await step(
      progress,
      'jobworkerp-ts Standalone throughput: Enqueue, EnqueueBatch',
      phasesLine,
      () => ourThroughput(ours, 'Standalone', [{ run }, { run: batchRun, variant: { batchSize } }]),
    );
    const standaloneDirect = await step(progress, 'jobworkerp-ts Standalone DIRECT', roundTripLine, () =>
      ourRoundTrips(ours, 'Standalone', trips, warmupTrips, timeout),
    );
    const [bullThroughput, bullBatch] = await step(progress, 'BullMQ throughput: add, addBulk', phasesLine, () =>
      bullmqThroughput(bullmq, [{ run }, { run: batchRun, batchSize }]),
    );
    const bullDirect = await step(progress, 'BullMQ add + waitUntilFinished', roundTripLine, () =>
      bullmqRoundTrips(bullmq, trips, warmupTrips, timeout),
    );
    const bullMemory = await step(progress, 'BullMQ queued memory', memoryLine, () =>
      bullmqQueuedMemory(bullmq, options.memoryJobs, options.concurrency),
    );

    let backlog: BenchResults['backlog'];
    if (options.backlogJobs > 0) {
      const jobs = options.backlogJobs;
      const inFlight = batchSize * BATCHES_IN_FLIGHT;
      const ourBacklogFigures = await step(progress, `jobworkerp-ts Scalable backlog of ${jobs}`, backlogLine, () =>
        ourBacklog(ours, jobs, batchSize, inFlight, timeout),
      );
      const bullBacklogFigures = await step(progress, `BullMQ backlog of ${jobs}`, backlogLine, () =>
        bullmqBacklog(bullmq, jobs, batchSize, inFlight, timeout),
      );
      backlog = { ours: ourBacklogFigures, bullmq: bullBacklogFigures };
    }

    const results: BenchResults = {
      scalable: {
        throughput: scalableThroughput.figures,
        workerPeakRssBytes: scalableThroughput.workerPeakRssBytes,
        workerCpuMsPerJob: scalableThroughput.workerCpuMsPerJob,
        batch: { throughput: scalableBatch.figures, workerCpuMsPerJob: scalableBatch.workerCpuMsPerJob },
        direct: scalableDirect,
        queuedMemory: scalableMemory,
      },
      standalone: {
        throughput: standaloneThroughput.figures,
        allInOnePeakRssBytes: standaloneThroughput.workerPeakRssBytes,
        batch: { throughput: standaloneBatch.figures, workerCpuMsPerJob: standaloneBatch.workerCpuMsPerJob },
        direct: standaloneDirect,
      },
      bullmq: {
        throughput: bullThroughput.figures,
        workerPeakRssBytes: bullThroughput.workerPeakRssBytes,
        workerCpuMsPerJob: bullThroughput.workerCpuMsPerJob,
        batch: { throughput: bullBatch.figures, workerCpuMsPerJob: bullBatch.workerCpuMsPerJob },
        direct: bullDirect,
        queuedMemory: bullMemory,
      },
      info: {
        command: { throughput: commandInfo.figures, workerCpuMsPerJob: commandInfo.workerCpuMsPerJob },
        storeSuccess: { throughput: storeInfo.figures, workerCpuMsPerJob: storeInfo.workerCpuMsPerJob },
      },
      metricsCost: { off: costResult(metricsCost.off), on: costResult(metricsCost.on) },
      cronTicks,
      backlog,
    };
    return {
      startedAt,
      seconds: (performance.now() - started) / 1000,
      options,
      machine,
      results,
      rows: reportRows(results),
      info: infoRows(results),
    };
  } finally {
    await database.drop();
  }
}

/**
 * Only the metrics-cost scenario (--only-metrics-cost): the Scalable throughput run with METRICS_ADDR off, then on,
 * on the run's own database; returns its rows and the machine it ran on.
 */
export async function runMetricsCost(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<{ rows: InfoRow[]; machine: Awaited<ReturnType<typeof machineInfo>>; seconds: number }> {
  const started = performance.now();
  const database = await createRunDatabase(options.mariadb);
  try {
    const machine = await machineInfo(options.redisUrl, database.serverVersion);
    const ours: DeploymentSettings = {
      redisUrl: options.redisUrl,
      mariadb: options.mariadb,
      database: database.name,
      workerConcurrency: options.workerConcurrency,
      maxPending: Math.max(DEFAULT_MAX_PENDING, options.jobs + options.warmupJobs),
      cpuProfDir: options.cpuProfDir,
    };
    const run: ThroughputRun = {
      jobs: options.jobs,
      concurrency: options.concurrency,
      warmupJobs: options.warmupJobs,
      timeoutMs: options.phaseTimeoutMs,
    };
    progress(`machine: ${machine.cpu}, ${machine.cores} cores; load average ${machine.loadAverageAtStart.join(' / ')}`);
    const cost = await step(progress, 'jobworkerp-ts Scalable throughput, METRICS_ADDR off / on', costLine, () =>
      ourMetricsCost(ours, run),
    );
    const rows = metricsCostRows({ off: costResult(cost.off), on: costResult(cost.on) });
    return { rows, machine, seconds: (performance.now() - started) / 1000 };
  } finally {
    await database.drop();
  }
}

/**
 * Only the cron-ticks scenario (--only-cron-ticks), on the run's own database; returns its figures and the machine it
 * ran on.
 */
export async function runCronTicks(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<{
  figures: NonNullable<BenchResults['cronTicks']>;
  machine: Awaited<ReturnType<typeof machineInfo>>;
  seconds: number;
}> {
  const started = performance.now();
  const database = await createRunDatabase(options.mariadb);
  try {
    const machine = await machineInfo(options.redisUrl, database.serverVersion);
    const ours: DeploymentSettings = {
      redisUrl: options.redisUrl,
      mariadb: options.mariadb,
      database: database.name,
      workerConcurrency: options.workerConcurrency,
      maxPending: DEFAULT_MAX_PENDING,
      cpuProfDir: options.cpuProfDir,
    };
    progress(`machine: ${machine.cpu}, ${machine.cores} cores; load average ${machine.loadAverageAtStart.join(' / ')}`);
    const figures = await cronTickSteps(ours, options.cronTicks, progress);
    return { figures, machine, seconds: (performance.now() - started) / 1000 };
  } finally {
    await database.drop();
  }
}

async function cronTickSteps(
  ours: DeploymentSettings,
  ticks: number,
  progress: (line: string) => void,
): Promise<NonNullable<BenchResults['cronTicks']>> {
  const standalone = await step(progress, `jobworkerp-ts Standalone cron ticks (${ticks})`, cronLine, () =>
    ourCronTicks(ours, 'Standalone', ticks),
  );
  const scalable = await step(progress, `jobworkerp-ts Scalable cron ticks (${ticks})`, cronLine, () =>
    ourCronTicks(ours, 'Scalable', ticks),
  );
  return { standalone, scalable };
}

function costResult(r: OurThroughput): BenchResults['metricsCost']['on'] {
  return { throughput: r.figures, workerCpuMsPerJob: r.workerCpuMsPerJob, frontCpuMsPerJob: r.frontCpuMsPerJob };
}

/** Runs one scenario between two progress lines, the second with its figures and how long it took. */
async function step<T>(
  progress: (line: string) => void,
  name: string,
  summary: (result: T) => string,
  run: () => Promise<T>,
): Promise<T> {
  progress(`${name}...`);
  const started = performance.now();
  const result = await run();
  progress(`${name}: ${summary(result)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

const throughputLine = ({ figures: f }: { figures: ThroughputFigures }): string =>
  `${Math.round(f.enqueuePerSecond)} enqueued/s, ${Math.round(f.endToEndPerSecond)} jobs/s end to end, ` +
  `p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms`;
const phasesLine = (phases: ReadonlyArray<{ figures: ThroughputFigures }>): string =>
  phases.map((phase) => throughputLine(phase)).join('; ');
const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(3)} ms`);
const costLine = ({ off, on }: { off: OurThroughput; on: OurThroughput }): string =>
  `off: ${Math.round(off.figures.endToEndPerSecond)} jobs/s, worker ${ms(off.workerCpuMsPerJob)}/job, ` +
  `front ${ms(off.frontCpuMsPerJob)}/job; on: ${Math.round(on.figures.endToEndPerSecond)} jobs/s, ` +
  `worker ${ms(on.workerCpuMsPerJob)}/job, front ${ms(on.frontCpuMsPerJob)}/job`;
const roundTripLine = (f: RoundTripFigures): string => `p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms`;
const memoryLine = (f: QueuedMemoryFigures): string =>
  `${(f.usedMemoryBytesPer100k / 2 ** 20).toFixed(1)} MiB used_memory, ` +
  `${(f.keyBytesPer100k / 2 ** 20).toFixed(1)} MiB in keys, per 100,000 jobs`;
const cronLine = (f: CronTickFigures): string =>
  `${f.ticks} ticks; enqueued p50 ${f.enqueued.p50Ms} ms, max ${f.enqueued.maxMs} ms; ` +
  `started p50 ${f.started.p50Ms} ms, max ${f.started.maxMs} ms after the tick`;
const backlogLine = (f: BacklogFigures): string =>
  `${(f.memory.usedMemoryBytesPer100k / 2 ** 20).toFixed(1)} MiB used_memory per 100,000 jobs, drained in ` +
  `${f.drainSeconds.toFixed(1)} s, worker peak RSS ${((f.workerPeakRssBytes ?? NaN) / 2 ** 20).toFixed(0)} MiB`;
