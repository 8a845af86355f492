/**
 * The cron-ticks scenario: how close to its second a schedule's tick is enqueued and its job starts. On one
 * deployment (Standalone all-in-one, or a Scalable grpc-front and worker, both running the scheduler), it creates a
 * `* * * * * *` schedule for a COMMAND worker running `true` that stores its results, lets `ticks` ticks go by, and
 * reads the stored results: for each tick, how long after its second the job was enqueued (enqueue_time) and started
 * running (start_time). The schedule and the worker are deleted at the end, so later scenarios on the same database
 * see no ticks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { JobResult } from '../libs/proto/src/index.js';
import {
  CommandRunnerSettings,
  JobResultServiceClient,
  MissedTickPolicy,
  OverlapPolicy,
  Priority,
  QueueType,
  ResponseType,
  RetryType,
  ScheduleServiceClient,
  WorkerServiceClient,
} from '../libs/proto/src/index.js';
import type { DeploymentSettings } from './jobworkerp-deployment.js';
import { startScalable, startStandalone } from './jobworkerp-deployment.js';
import type { Mode } from './jobworkerp-scenarios.js';
import { percentile } from './latency-percentiles.js';
import { uniqueName } from './unique-name.js';

/** Lateness after the tick's second, ms, over the ticks measured (nearest rank). */
export interface LagFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface CronTickFigures {
  /** ticks measured (jobs whose result was stored) */
  readonly ticks: number;
  /** from the tick's second to the job's enqueue_time (claimed in the RDB, about to be enqueued) */
  readonly enqueued: LagFigures;
  /** from the tick's second to the job's start_time (claimed by a worker, its runner starting) */
  readonly started: LagFigures;
}

const promise = <T>(fn: (cb: (err: ServiceError | null, res: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, res) => (err === null ? resolve(res) : reject(err))));

function lag(ms: readonly number[]): LagFigures {
  return { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: Math.max(...ms) };
}

/** Runs the scenario on fresh processes of `mode`; `ticks` ticks of an every-second schedule. */
export async function ourCronTicks(settings: DeploymentSettings, mode: Mode, ticks: number): Promise<CronTickFigures> {
  const deployment =
    mode === 'Standalone'
      ? await startStandalone(settings, 'cron-ticks')
      : await startScalable(settings, 'cron-ticks', uniqueName('jwcron'), true);
  const creds = credentials.createInsecure();
  const workers = new WorkerServiceClient(deployment.address, creds);
  const schedules = new ScheduleServiceClient(deployment.address, creds);
  const results = new JobResultServiceClient(deployment.address, creds);
  try {
    const { id: workerId } = await promise<{ id?: { value: number } | undefined }>((cb) =>
      workers.create(
        {
          name: uniqueName('cron-ticks'),
          runnerId: { value: 1 },
          runnerSettings: Buffer.from(CommandRunnerSettings.encode({ name: 'true' }).finish()),
          retryPolicy: { type: RetryType.NONE, interval: 0, maxInterval: 0, maxRetry: 0, basis: 2 },
          periodicInterval: 0,
          channel: undefined,
          queueType: QueueType.NORMAL,
          responseType: ResponseType.NO_RESULT,
          storeSuccess: true,
          storeFailure: true,
          nextWorkers: [],
          useStatic: false,
        },
        new Metadata(),
        cb,
      ),
    );
    if (workerId === undefined) throw new Error('WorkerService.Create returned no id');
    const { id: scheduleId } = await promise<{ id?: { value: number } | undefined }>((cb) =>
      schedules.create(
        {
          name: uniqueName('every-second'),
          cron: '* * * * * *',
          timeZone: '',
          workerId,
          workerName: undefined,
          args: Buffer.alloc(0),
          priority: Priority.PRIORITY_MEDIUM,
          uniqKey: undefined,
          timeout: 0,
          missedTick: MissedTickPolicy.MISSED_TICK_SKIP,
          overlap: OverlapPolicy.OVERLAP_ALLOW,
        },
        new Metadata(),
        cb,
      ),
    );
    // the ticks, then time for the last job to run and store its result
    await sleep(ticks * 1000 + 1500);
    if (scheduleId !== undefined) await promise((cb) => schedules.delete(scheduleId, new Metadata(), cb));
    const stored: JobResult[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = results.findList({ limit: 10_000 }, new Metadata());
      stream.on('data', (r: JobResult) => void stored.push(r));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    const mine = stored.filter((r) => r.data?.workerId?.value === workerId.value).map((r) => r.data!);
    if (mine.length === 0) throw new Error(`no tick of the ${mode} schedule stored a result:\n${deployment.output()}`);
    // the first tick may come less than a second after the schedule: it counts like the others
    const second = (enqueueTime: number): number => Math.floor(enqueueTime / 1000) * 1000;
    await promise((cb) => workers.delete(workerId, new Metadata(), cb));
    return {
      ticks: mine.length,
      enqueued: lag(mine.map((r) => r.enqueueTime - second(r.enqueueTime))),
      started: lag(mine.map((r) => r.startTime - second(r.enqueueTime))),
    };
  } finally {
    for (const c of [workers, schedules, results]) c.close();
    await deployment.stop();
  }
}
