/**
 * The throughput scenario, the same for every system: N jobs enqueued by `concurrency` concurrent callers while a
 * listener reports completions. Definitions (identical for jobworkerp-ts and BullMQ):
 * - a job's enqueue-to-completion latency runs from the moment its enqueue call is issued to the moment the
 *   benchmark process sees its completion;
 * - enqueue rate = N / (last enqueue call returned − first enqueue call issued);
 * - end-to-end rate = N / (last completion seen − first enqueue call issued);
 * - CPU time per job = CPU seconds the given processes used during the measured phase / N.
 * Before measuring, a probe job proves the listener is subscribed (retried, since a subscription has no
 * acknowledgement), then warm-up jobs run unmeasured.
 */
import { performance } from 'node:perf_hooks';
import type { CompletionTracker } from './completion-tracker.js';
import type { CpuMeter, CpuUse } from './cpu-meter.js';
import { totalCpuSeconds } from './cpu-meter.js';
import { latencyPercentiles } from './latency-percentiles.js';
import { runConcurrently } from './run-concurrently.js';

/** Enqueues job number `index` of the current phase and resolves with its id once the system accepted it. */
export type EnqueueJob = (index: number) => Promise<string>;

export interface ThroughputRun {
  readonly jobs: number;
  readonly concurrency: number;
  readonly warmupJobs: number;
  readonly timeoutMs: number;
}

export interface ThroughputFigures {
  readonly jobs: number;
  readonly enqueuePerSecond: number;
  readonly endToEndPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** first enqueue issued → last enqueue returned */
  readonly enqueueSeconds: number;
  /** first enqueue issued → last completion seen */
  readonly endToEndSeconds: number;
  /** CPU seconds each process used during the measured phase */
  readonly cpuSeconds: CpuUse;
  /** all those CPU seconds per job, in ms; undefined when a process's CPU time could not be read */
  readonly cpuMsPerJob: number | undefined;
}

const PROBE_TRIES = 20;
const PROBE_WAIT_MS = 500;

export async function measureThroughput(
  enqueue: EnqueueJob,
  completions: CompletionTracker,
  run: ThroughputRun,
  cpu: CpuMeter,
): Promise<ThroughputFigures> {
  await probeListener(enqueue, completions);
  if (run.warmupJobs > 0) {
    completions.startPhase();
    await runConcurrently(run.warmupJobs, run.concurrency, async (i) => completions.expect(await enqueue(i)));
    await completions.waitForCompletions(run.warmupJobs, run.timeoutMs, 'the warm-up jobs');
  }

  completions.startPhase();
  await cpu.start();
  const sentAt = new Float64Array(run.jobs);
  const acceptedAt = new Float64Array(run.jobs);
  const ids = new Array<string>(run.jobs);
  await runConcurrently(run.jobs, run.concurrency, async (i) => {
    sentAt[i] = performance.now();
    const id = await enqueue(i);
    acceptedAt[i] = performance.now();
    ids[i] = id;
    completions.expect(id);
  });
  await completions.waitForCompletions(run.jobs, run.timeoutMs, `${run.jobs} measured jobs`);
  const cpuSeconds = await cpu.stop();
  const totalCpu = totalCpuSeconds(cpuSeconds);

  const latencies: number[] = [];
  let lastAccepted = 0;
  let lastDone = 0;
  for (let i = 0; i < run.jobs; i++) {
    const done = completions.timeOf(ids[i]!)!;
    latencies.push(done - sentAt[i]!);
    lastAccepted = Math.max(lastAccepted, acceptedAt[i]!);
    lastDone = Math.max(lastDone, done);
  }
  const first = sentAt[0]!;
  const enqueueSeconds = (lastAccepted - first) / 1000;
  const endToEndSeconds = (lastDone - first) / 1000;
  return {
    jobs: run.jobs,
    enqueuePerSecond: run.jobs / enqueueSeconds,
    endToEndPerSecond: run.jobs / endToEndSeconds,
    ...latencyPercentiles(latencies),
    enqueueSeconds,
    endToEndSeconds,
    cpuSeconds,
    cpuMsPerJob: totalCpu === undefined ? undefined : (totalCpu * 1000) / run.jobs,
  };
}

/** Enqueues one job at a time until the listener reports one: from then on it is subscribed. */
async function probeListener(enqueue: EnqueueJob, completions: CompletionTracker): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    completions.startPhase();
    completions.expect(await enqueue(0));
    try {
      await completions.waitForCompletions(1, PROBE_WAIT_MS, 'the probe job');
      return;
    } catch (err) {
      if (attempt >= PROBE_TRIES) throw new Error(`the completion listener never reported a job`, { cause: err });
    }
  }
}

/** CPU the named process used during the measured phase, per job, ms; undefined when it could not be read. */
export function cpuMsPerJob(figures: ThroughputFigures, processName: string): number | undefined {
  const seconds = figures.cpuSeconds[processName];
  return seconds === undefined ? undefined : (seconds * 1000) / figures.jobs;
}
