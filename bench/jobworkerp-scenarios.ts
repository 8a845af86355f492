/**
 * Our side of each scenario. Every scenario starts processes of its own (Scalable: under a fresh Redis key
 * prefix; Standalone: a fresh SQLite file) and stops them afterwards. Jobs go to a worker on the echo plugin that
 * stores no result: NO_RESULT for throughput (completions are seen on ListenStreamByWorker), DIRECT for round trips.
 */
import { ResponseType, ResultStatus } from '../libs/proto/src/index.js';
import { CompletionTracker } from './completion-tracker.js';
import { CpuMeter, processCpu, redisCpu, selfCpu } from './cpu-meter.js';
import { jobPayload } from './job-payload.js';
import { JobworkerpClient } from './jobworkerp-client.js';
import type { DeploymentSettings, JobworkerpDeployment } from './jobworkerp-deployment.js';
import { startScalable, startStandalone } from './jobworkerp-deployment.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import { measureRoundTrips } from './measure-round-trips.js';
import type { ThroughputFigures, ThroughputRun } from './measure-throughput.js';
import { measureThroughput } from './measure-throughput.js';
import type { QueuedMemoryFigures } from './redis-memory.js';
import { measureQueuedMemory } from './redis-memory.js';
import { uniqueName } from './unique-name.js';

export type Mode = 'Scalable' | 'Standalone';

/** Throughput through the gRPC front; the peak RSS is the job-running process's (worker or all-in-one). */
export async function ourThroughput(
  settings: DeploymentSettings,
  mode: Mode,
  run: ThroughputRun,
): Promise<{ figures: ThroughputFigures; workerPeakRssBytes: number | undefined }> {
  return withDeployment(settings, mode, 'throughput', async (deployment, client) => {
    const workerId = await client.createEchoWorker(uniqueName('bench-echo'), ResponseType.NO_RESULT);
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
      const figures = await measureThroughput(
        async (i) => String((await client.enqueue(workerId, Buffer.from(jobPayload(i)), run.timeoutMs)).id!.value),
        completions,
        run,
        cpu,
      );
      return { figures, workerPeakRssBytes: deployment.jobRunner?.peakRssBytes() };
    } catch (err) {
      if (streamError === undefined) throw err;
      throw new Error(`${String(err)}; the result stream failed: ${streamError.message}`, { cause: err });
    } finally {
      endStream();
    }
  });
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
