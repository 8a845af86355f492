/**
 * Prometheus metrics end to end, on the built processes with METRICS_ADDR: jobs that succeed, jobs that fail to
 * MAX_RETRY through their retries (kept as dead letters), a DIRECT call and a call that fails; /metrics is scraped
 * while they flow, and the counters must match what the test ran, exactly. Standalone (all-in-one) and Scalable (a
 * grpc-front and a worker on MariaDB and Redis: the front counts what it enqueues and answers, the worker what it
 * runs).
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../libs/config/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { ResponseType } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { sampleSum, sampleValue } from '../support/metrics-text.js';
import { scalableEnv } from '../support/scalable-env.js';
import { findLogLine } from '../support/log-lines.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData, constantRetry } from '../support/worker-data.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries 100 ms apart, rows polled every 200 ms: a failing job is final within a second or two. */
const FAST = { JOB_QUEUE_FETCH_INTERVAL: '200', METRICS_ADDR: '127.0.0.1:0' };
const SUCCEEDING = 5;
const FAILING = 2;
const RETRIES = 2;

/** The /metrics URL a process printed at start. */
function metricsUrl(server: ServerProcess): string {
  const url = findLogLine(server.output(), /jobworkerp metrics endpoint at (http:\/\/\S+)/)?.[1];
  if (url === undefined) throw new Error(`no metrics endpoint line in:\n${server.output()}`);
  return url;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}

/** Scrapes until `done` says the text shows everything, and returns that text. */
async function scrapeUntil(url: string, what: string, done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await scrape(url);
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last scrape:\n${text}`);
    await sleep(100);
  }
}

/** Creates the three workers and runs the jobs: SUCCEEDING + FAILING queued jobs, one DIRECT call, one bad call. */
async function runJobs(c: Clients, tag: string): Promise<{ ok: string; flaky: string; direct: string }> {
  const names = { ok: `ok-${tag}`, flaky: `flaky-${tag}`, direct: `direct-${tag}` };
  const ok = await call(c.worker, 'create', commandWorkerData(names.ok, 'sh'));
  const flaky = await call(
    c.worker,
    'create',
    commandWorkerData(names.flaky, 'sh', { retryPolicy: constantRetry(100, RETRIES) }),
  );
  await call(c.worker, 'create', commandWorkerData(names.direct, 'sh', { responseType: ResponseType.DIRECT }));
  for (let i = 0; i < SUCCEEDING; i++) {
    await call(c.job, 'enqueue', { workerId: ok.id, args: commandArgs('-c', 'true') });
  }
  for (let i = 0; i < FAILING; i++) {
    // exit 3: a retryable failure
    await call(c.job, 'enqueue', { workerId: flaky.id, args: commandArgs('-c', 'exit 3') });
  }
  const direct = await call(c.job, 'enqueue', { workerName: names.direct, args: commandArgs('-c', 'echo hi') });
  expect(direct.result?.data?.status).toBeDefined();
  const bad = await grpcError(call(c.job, 'enqueue', { workerName: `missing-${tag}`, args: commandArgs('true') }));
  expect(bad.code).toBe(status.NOT_FOUND);
  return names;
}

/** What the process that runs the jobs counts about them. */
function expectRunCounts(text: string, names: { ok: string; flaky: string; direct: string }): void {
  const v = (name: string, labels: Record<string, string>): number | undefined => sampleValue(text, name, labels);
  const finished = (worker: string, s: string): number | undefined =>
    v('jobworkerp_jobs_finished_total', { worker, status: s });
  expect(finished(names.ok, 'SUCCESS')).toBe(SUCCEEDING);
  expect(finished(names.flaky, 'MAX_RETRY')).toBe(FAILING);
  expect(finished(names.direct, 'SUCCESS')).toBe(1);
  expect(sampleSum(text, 'jobworkerp_jobs_finished_total')).toBe(SUCCEEDING + FAILING + 1);
  expect(v('jobworkerp_job_retries_total', { worker: names.flaky })).toBe(FAILING * RETRIES);
  expect(sampleSum(text, 'jobworkerp_job_retries_total')).toBe(FAILING * RETRIES);
  expect(v('jobworkerp_dead_letters_total', { worker: names.flaky })).toBe(FAILING);
  expect(sampleSum(text, 'jobworkerp_dead_letters_total')).toBe(FAILING);
  const runs = { [names.ok]: SUCCEEDING, [names.flaky]: FAILING * (RETRIES + 1), [names.direct]: 1 };
  for (const [worker, count] of Object.entries(runs)) {
    expect(v('jobworkerp_job_run_duration_seconds_count', { worker })).toBe(count);
    expect(v('jobworkerp_job_start_latency_seconds_count', { worker })).toBe(count);
  }
  // nothing was delivered twice
  expect(sampleSum(text, 'jobworkerp_lease_expiries_total')).toBe(0);
  expect(sampleSum(text, 'jobworkerp_job_redeliveries_total')).toBe(0);
  expect(sampleSum(text, 'jobworkerp_leases_lost_total')).toBe(0);
  expect(sampleSum(text, 'jobworkerp_db_errors_total')).toBe(0);
}

/** What the process that serves the gRPC calls counts about them. */
function expectFrontCounts(text: string, names: { ok: string; flaky: string; direct: string }): void {
  const v = (name: string, labels: Record<string, string>): number | undefined => sampleValue(text, name, labels);
  const enqueued = (worker: string): number | undefined =>
    v('jobworkerp_jobs_enqueued_total', { worker, channel: DEFAULT_CHANNEL });
  expect(enqueued(names.ok)).toBe(SUCCEEDING);
  expect(enqueued(names.flaky)).toBe(FAILING);
  expect(enqueued(names.direct)).toBe(1);
  expect(sampleSum(text, 'jobworkerp_jobs_enqueued_total')).toBe(SUCCEEDING + FAILING + 1);
  expect(v('jobworkerp_grpc_calls_total', { method: 'WorkerService/Create', code: 'OK' })).toBe(3);
  expect(v('jobworkerp_grpc_calls_total', { method: 'JobService/Enqueue', code: 'OK' })).toBe(SUCCEEDING + FAILING + 1);
  expect(v('jobworkerp_grpc_calls_total', { method: 'JobService/Enqueue', code: 'NOT_FOUND' })).toBe(1);
  expect(sampleSum(text, 'jobworkerp_grpc_calls_total', { code: 'INTERNAL' })).toBe(0);
  // the process defaults
  expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
}

describe('metrics on Standalone (all-in-one)', () => {
  let server: ServerProcess;
  let clients: Clients;

  beforeAll(async () => {
    server = await startServer({ env: FAST });
    clients = connect(server.address);
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  it('counts the jobs, retries, dead letters and calls it ran, exactly', async () => {
    const url = metricsUrl(server);
    const before = await scrape(url);
    expect(sampleSum(before, 'jobworkerp_jobs_enqueued_total')).toBe(0);
    expect(before).toContain('# TYPE jobworkerp_jobs_waiting gauge');

    const names = await runJobs(clients, 'sa');
    const text = await scrapeUntil(
      url,
      'every job to be final',
      (t) => sampleSum(t, 'jobworkerp_jobs_finished_total') >= SUCCEEDING + FAILING + 1,
    );
    expectRunCounts(text, names);
    expectFrontCounts(text, names);
    // Standalone has no Redis
    expect(sampleSum(text, 'jobworkerp_redis_errors_total')).toBe(0);
  });
});

describe('metrics on Scalable (grpc-front + worker)', () => {
  const keyPrefix = `jwtest-${randomBytes(4).toString('hex')}`;
  let db: { name: string; drop(): Promise<void> } | undefined;
  let front: ServerProcess;
  let worker: ServerProcess;
  let clients: Clients;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    const env = { ...scalableEnv(db.name, keyPrefix), ...FAST };
    front = await startServer({ app: 'grpc-front', env });
    worker = await startServer({ app: 'worker', env });
    clients = connect(front.address);
  }, 60_000);
  afterAll(async () => {
    clients?.close();
    await worker?.stop();
    await front?.stop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, keyPrefix);
    await db?.drop();
  });

  it('counts enqueues and calls at the front, runs at the worker, exactly', async () => {
    const names = await runJobs(clients, 'sc');
    const atWorker = await scrapeUntil(
      metricsUrl(worker),
      'every job to be final',
      (t) => sampleSum(t, 'jobworkerp_jobs_finished_total') >= SUCCEEDING + FAILING + 1,
    );
    expectRunCounts(atWorker, names);
    // the worker serves no calls and enqueues nothing of these
    expect(sampleSum(atWorker, 'jobworkerp_grpc_calls_total')).toBe(0);
    expect(sampleSum(atWorker, 'jobworkerp_jobs_enqueued_total')).toBe(0);

    const atFront = await scrape(metricsUrl(front));
    expectFrontCounts(atFront, names);
    expect(sampleSum(atFront, 'jobworkerp_jobs_finished_total')).toBe(0);
    for (const text of [atFront, atWorker]) expect(sampleSum(text, 'jobworkerp_redis_errors_total')).toBe(0);
  });
});
