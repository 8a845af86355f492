#!/usr/bin/env node
/**
 * How close to its second a cron tick starts, as measured (never asserted in a test). For each mode — one Standalone
 * all-in-one, then a Scalable grpc-front and worker on Redis 127.0.0.1:6379 and MariaDB 127.0.0.1:3306 (a database of
 * its own, dropped at the end) — it creates a `* * * * * *` schedule for a COMMAND worker running `true` that stores
 * its results, waits `--seconds` (default 20), and reads the stored results: for each tick, how long after its second
 * the job was enqueued (enqueue_time) and started running (start_time). Prints p50, p99 and the maximum of both.
 *
 *     npm run build && npx tsc -p bench/tsconfig.json && node dist/bench/cron-ticks.js --seconds 30
 *
 * A separate script, not part of `npm run bench`: the tick path is one process's timer and one RDB update, which the
 * throughput scenarios do not exercise.
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
import type { DeploymentSettings, JobworkerpDeployment } from './jobworkerp-deployment.js';
import { startScalable, startStandalone } from './jobworkerp-deployment.js';
import { percentile } from './latency-percentiles.js';
import { createRunDatabase } from './mariadb-database.js';
import { uniqueName } from './unique-name.js';

const secondsFlag = process.argv.indexOf('--seconds');
const seconds = secondsFlag > 0 ? Number(process.argv[secondsFlag + 1]) : 20;
if (!Number.isInteger(seconds) || seconds < 3) throw new Error('--seconds takes a whole number of 3 or more');

const promise = <T>(fn: (cb: (err: ServiceError | null, res: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, res) => (err === null ? resolve(res) : reject(err))));

const mariadb = { host: '127.0.0.1', port: 3306, user: 'root' };
const database = await createRunDatabase(mariadb);
const settings: DeploymentSettings = {
  redisUrl: 'redis://127.0.0.1:6379',
  mariadb,
  database: database.name,
  workerConcurrency: 4,
  maxPending: 10_000,
  cpuProfDir: undefined,
};
const rows: string[] = [];
try {
  rows.push(...(await measure('Standalone', await startStandalone(settings, 'cron-ticks'))));
  rows.push(...(await measure('Scalable', await startScalable(settings, 'cron-ticks', uniqueName('jwcron'), true))));
} finally {
  await database.drop();
}
process.stdout.write(
  ['| ms after the tick | ticks | p50 | p99 | max |', '|---|---|---|---|---|', ...rows, ''].join('\n'),
);

/** The table rows of one mode: how late its jobs were enqueued and started. */
async function measure(mode: string, deployment: JobworkerpDeployment): Promise<string[]> {
  try {
    const creds = credentials.createInsecure();
    const workers = new WorkerServiceClient(deployment.address, creds);
    const schedules = new ScheduleServiceClient(deployment.address, creds);
    const results = new JobResultServiceClient(deployment.address, creds);
    const { id: workerId } = await promise<{ id?: { value: number } | undefined }>((cb) =>
      workers.create(
        {
          name: 'cron-ticks',
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
    await promise((cb) =>
      schedules.create(
        {
          name: 'every-second',
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
    process.stderr.write(`[cron-ticks] ${mode}: measuring ${seconds} ticks...\n`);
    await sleep(seconds * 1000 + 1500);
    const stored: JobResult[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = results.findList({}, new Metadata());
      stream.on('data', (r: JobResult) => void stored.push(r));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    // the first tick may come less than a second after the schedule: it counts like the others
    const enqueued = stored.map((r) => r.data!.enqueueTime % 1000);
    const started = stored.map((r) => r.data!.startTime - Math.floor(r.data!.enqueueTime / 1000) * 1000);
    const row = (what: string, ms: number[]): string =>
      `| ${mode}: ${what} | ${ms.length} | ${percentile(ms, 50)} | ${percentile(ms, 99)} | ${Math.max(...ms)} |`;
    for (const c of [workers, schedules, results]) c.close();
    return [row('job enqueued', enqueued), row('job started', started)];
  } finally {
    await deployment.stop();
  }
}
