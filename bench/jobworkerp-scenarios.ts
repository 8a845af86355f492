/**
 * Our side of each scenario. Every scenario starts processes of its own (Scalable: under a fresh Redis key
 * prefix; Standalone: a fresh SQLite file) and stops them afterwards. Jobs go to a worker on the echo plugin that
 * stores no result: NO_RESULT for throughput (completions are seen on ListenStreamByWorker), DIRECT for round trips;
 * the "for information" variants use the COMMAND runner (`true`) or store every success.
 */
import { ResponseType, ResultStatus } from '../libs/proto/src/index.js';
import type { BacklogFigures } from './backlog.js';
import { waitUntil } from './backlog.js';
import { batchingEnqueue } from './batching-enqueue.js';
import { CompletionTracker } from './completion-tracker.js';
import { CpuMeter, processCpu, redisCpu, selfCpu } from './cpu-meter.js';
import { jobPayload } from './job-payload.js';
import type { BenchWorker } from './jobworkerp-client.js';
import { JobworkerpClient } from './jobworkerp-client.js';
import type { DeploymentSettings, JobworkerpDeployment } from './jobworkerp-deployment.js';
import { startScalable, startStandalone } from './jobworkerp-deployment.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import { measureRoundTrips } from './measure-round-trips.js';
import type { EnqueueJob, ThroughputFigures, ThroughputRun } from './measure-throughput.js';
import { cpuMsPerJob, measureThroughput } from './measure-throughput.js';
import type { QueuedMemoryFigures } from './redis-memory.js';
import { measureQueuedMemory } from './redis-memory.js';
import { uniqueName } from './unique-name.js';

export type Mode = 'Scalable' | 'Standalone';

/** What a throughput phase varies: how jobs are enqueued and what the worker runs and keeps. */
export interface ThroughputVariant {
  /** enqueue with EnqueueBatch, this many jobs per call; unary Enqueue when undefined */
  readonly batchSize?: number;
  /** the worker's runner and what it keeps. @default the echo plugin, storing nothing */
  readonly worker?: Omit<BenchWorker, 'responseType'>;
}

/** One measured throughput phase: its run sizes and its variant. */
export interface ThroughputPhase {
  readonly run: ThroughputRun;
  readonly variant?: ThroughputVariant;
}

export interface OurThroughput {
  readonly figures: ThroughputFigures;
  /** the job-running process (worker or all-in-one), read right after this phase */
  readonly workerPeakRssBytes: number | undefined;
  /** CPU the job-running process used during the measured phase, per job, ms */
  readonly workerCpuMsPerJob: number | undefined;
  /** CPU the grpc-front used during the measured phase, per job, ms (Scalable only) */
  readonly frontCpuMsPerJob: number | undefined;
}

/**
 * Throughput through the gRPC front, phase after phase on the same processes (each phase with a worker of its own
 * and its own result stream); the peak RSS is the job-running process's (worker or all-in-one).
 */
export async function ourThroughput<const P extends readonly ThroughputPhase[]>(
  settings: DeploymentSettings,
  mode: Mode,
  phases: P,
  scenario = 'throughput',
): Promise<{ -readonly [K in keyof P]: OurThroughput }> {
  return withDeployment(settings, mode, scenario, async (deployment, client) => {
    const results: OurThroughput[] = [];
    for (const { run, variant = {} } of phases)
      results.push(await ourPhase(settings, deployment, client, run, variant));
    // one result per phase, in order
    return results as { -readonly [K in keyof P]: OurThroughput };
  });
}

async function ourPhase(
  settings: DeploymentSettings,
  deployment: JobworkerpDeployment,
  client: JobworkerpClient,
  run: ThroughputRun,
  variant: ThroughputVariant,
): Promise<OurThroughput> {
  const workerId = await client.createWorker(uniqueName('bench-worker'), {
    ...variant.worker,
    responseType: ResponseType.NO_RESULT,
  });
  // COMMAND jobs take CommandArgs: none (empty bytes); the echo plugin takes any bytes
  const argsOf = (i: number): Buffer =>
    variant.worker?.command === undefined ? Buffer.from(jobPayload(i)) : Buffer.alloc(0);
  const batchSize = variant.batchSize;
  const enqueue: EnqueueJob =
    batchSize === undefined
      ? async (i) => String((await client.enqueue(workerId, argsOf(i), run.timeoutMs)).id!.value)
      : batchingEnqueue(batchSize, (indexes) => client.enqueueBatch(workerId, indexes.map(argsOf), run.timeoutMs));
  const completions = new CompletionTracker();
  let streamError: Error | undefined;
  const endStream = client.listenResults(
    workerId,
    (jobId) => completions.record(jobId),
    (err) => (streamError = err),
  );
  try {
    const cpu = new CpuMeter([
      selfCpu('benchmark client'),
      ...deployment.processes.map((p) => processCpu(p.name, p.pid)),
      redisCpu('redis', settings.redisUrl),
    ]);
    const figures = await measureThroughput(enqueue, completions, run, cpu);
    const runner = deployment.jobRunner;
    const front = deployment.processes.find((p) => p.name.endsWith('grpc-front'));
    return {
      figures,
      workerPeakRssBytes: runner?.peakRssBytes(),
      workerCpuMsPerJob: runner === undefined ? undefined : cpuMsPerJob(figures, runner.name),
      frontCpuMsPerJob: front === undefined ? undefined : cpuMsPerJob(figures, front.name),
    };
  } catch (err) {
    if (streamError === undefined) throw err;
    throw new Error(`${String(err)}; the result stream failed: ${streamError.message}`, { cause: err });
  } finally {
    endStream();
  }
}

/** The Scalable throughput run twice on fresh processes: METRICS_ADDR off, then on (what the metrics cost). */
export async function ourMetricsCost(
  settings: DeploymentSettings,
  run: ThroughputRun,
): Promise<{ off: OurThroughput; on: OurThroughput }> {
  const [off] = await ourThroughput({ ...settings, metrics: false }, 'Scalable', [{ run }], 'metrics-off');
  const [on] = await ourThroughput({ ...settings, metrics: true }, 'Scalable', [{ run }], 'metrics-on');
  return { off, on };
}

/**
 * The backlog: `jobs` jobs queued through EnqueueBatch with no worker running (Redis memory measured), then one
 * worker process started to drain them all (its peak RSS measured, and the time it took).
 */
export async function ourBacklog(
  settings: DeploymentSettings,
  jobs: number,
  batchSize: number,
  concurrency: number,
  timeoutMs: number,
): Promise<BacklogFigures> {
  const prefix = uniqueName('jwbench');
  const deployment = await startScalable(settings, 'scalable-backlog', prefix, false);
  const client = new JobworkerpClient(deployment.address);
  try {
    const workerId = await client.createEchoWorker(uniqueName('bench-backlog'), ResponseType.NO_RESULT);
    const enqueue = batchingEnqueue(batchSize, (indexes) =>
      client.enqueueBatch(
        workerId,
        indexes.map((i) => Buffer.from(jobPayload(i))),
        timeoutMs,
      ),
    );
    const memory = await measureQueuedMemory(settings.redisUrl, prefix, jobs, concurrency, enqueue);
    let done = 0;
    let streamError: Error | undefined;
    const endStream = client.listenResults(
      workerId,
      () => void (done += 1),
      (err) => (streamError = err),
    );
    try {
      // no job can finish before the worker process has started, long after the stream subscribed
      const worker = await deployment.startWorker();
      const drainSeconds = await waitUntil(
        () => {
          if (streamError !== undefined) throw streamError;
          return done >= jobs;
        },
        timeoutMs,
        `${jobs} backlog jobs to finish`,
      );
      return { jobs, memory, drainSeconds, workerPeakRssBytes: worker.peakRssBytes() };
    } finally {
      endStream();
    }
  } catch (err) {
    throw withOutput(err, deployment);
  } finally {
    client.close();
    await deployment.stop();
  }
}

/** DIRECT round trips: each Enqueue returns the job's result. */
export async function ourRoundTrips(
  settings: DeploymentSettings,
  mode: Mode,
  trips: number,
  warmupTrips: number,
  timeoutMs: number,
): Promise<RoundTripFigures> {
  return withDeployment(settings, mode, 'direct', async (_deployment, client) => {
    const workerId = await client.createEchoWorker(uniqueName('bench-direct'), ResponseType.DIRECT);
    return measureRoundTrips(
      async (i) => {
        const res = await client.enqueue(workerId, Buffer.from(jobPayload(i)), timeoutMs);
        const status = res.result?.data?.status;
        if (status !== ResultStatus.SUCCESS) throw new Error(`DIRECT job ${i} ended with status ${status}`);
      },
      trips,
      warmupTrips,
    );
  });
}

/** Redis memory of `jobs` waiting jobs: a Scalable front and no worker. */
export async function ourQueuedMemory(
  settings: DeploymentSettings,
  jobs: number,
  concurrency: number,
): Promise<QueuedMemoryFigures> {
  const prefix = uniqueName('jwbench');
  const deployment = await startScalable(settings, 'scalable-memory', prefix, false);
  const client = new JobworkerpClient(deployment.address);
  try {
    const workerId = await client.createEchoWorker(uniqueName('bench-queued'), ResponseType.NO_RESULT);
    return await measureQueuedMemory(settings.redisUrl, prefix, jobs, concurrency, async (i) => {
      return String((await client.enqueue(workerId, Buffer.from(jobPayload(i)), 60_000)).id!.value);
    });
  } catch (err) {
    throw withOutput(err, deployment);
  } finally {
    client.close();
    await deployment.stop();
  }
}

/** Starts the mode's processes (with a worker), runs `body` with a client, and stops them whatever happens. */
async function withDeployment<T>(
  settings: DeploymentSettings,
  mode: Mode,
  scenario: string,
  body: (deployment: JobworkerpDeployment, client: JobworkerpClient) => Promise<T>,
): Promise<T> {
  const name = `${mode.toLowerCase()}-${scenario}`;
  const deployment =
    mode === 'Scalable'
      ? await startScalable(settings, name, uniqueName('jwbench'), true)
      : await startStandalone(settings, name);
  const client = new JobworkerpClient(deployment.address);
  try {
    return await body(deployment, client);
  } catch (err) {
    throw withOutput(err, deployment);
  } finally {
    client.close();
    await deployment.stop();
  }
}

/** The error with what the processes printed appended, so a failed run says why. */
function withOutput(err: unknown, deployment: JobworkerpDeployment): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`${message}\nprocess output:\n${deployment.output()}`, { cause: err });
}
