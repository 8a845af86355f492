/**
 * The job pipeline end to end: a real all-in-one process (SQLite file, in-process queue) driven over gRPC.
 * Timing checks are behaviour bounds with slack, not performance figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult, WorkerData } from '../../libs/proto/src/index.js';
import { JobStatus, Priority, QueueType, ResponseType, ResultStatus, RetryType } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

const text = (r: JobResult | undefined, i = 0): string => Buffer.from(r?.data?.output?.items[i] ?? []).toString();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let seq = 0;
/** A COMMAND worker with DIRECT results, all results stored and no retries. */
function worker(command: string, overrides: Partial<WorkerData> = {}): WorkerData {
  seq += 1;
  return commandWorkerData(`w${seq}-${command}`, command, {
    responseType: ResponseType.DIRECT,
    storeSuccess: true,
    storeFailure: true,
    ...overrides,
  });
}

describe('the Standalone all-in-one pipeline', () => {
  let server: ServerProcess;
  let c: Clients;

  const createWorker = async (data: WorkerData): Promise<number> => (await call(c.worker, 'create', data)).id!.value;
  const enqueue = (workerId: number, a: Buffer, extra: Record<string, unknown> = {}) =>
    call(c.job, 'enqueue', { workerId: { value: workerId }, args: a, ...extra });
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  };

  beforeAll(async () => {
    server = await startServer({
      env: {
        JOB_QUEUE_FETCH_INTERVAL: '300',
        WORKER_DEFAULT_CONCURRENCY: '4',
        WORKER_CHANNELS: 'pair',
        WORKER_CHANNEL_CONCURRENCIES: '2',
        SHUTDOWN_GRACE_PERIOD_MS: '500',
      },
    });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  it('runs a DIRECT COMMAND job and returns stdout as the output item', async () => {
    const w = await createWorker(worker('echo'));
    const res = await enqueue(w, commandArgs('hello', 'world'));
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(text(res.result)).toBe('hello world\n');
    // the result was stored (store_success) and the job is finished (no status)
    const stored = await collect(c.jobResult.findListByJobId({ jobId: res.id! }));
    expect(stored.map((r) => r.data?.status)).toEqual([ResultStatus.SUCCESS]);
    expect((await call(c.jobStatus, 'find', res.id!)).status).toBeUndefined();
  });

  it('classifies exit codes and missing executables', async () => {
    const failing = await createWorker(worker('sh'));
    const res = await enqueue(failing, commandArgs('-c', 'echo oops >&2; exit 3'));
    // a retryable failure with no retries left is final as MAX_RETRY
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(text(res.result)).toMatch(/code 3/);
    expect(text(res.result)).toMatch(/oops/);

    const missing = await createWorker(worker('no-such-executable-jw'));
    const res2 = await enqueue(missing, commandArgs());
    expect(res2.result?.data?.status).toBe(ResultStatus.FATAL_ERROR);
    expect(text(res2.result)).toMatch(/not found/);
  });

  it('retries with the policy and ends with MAX_RETRY after max_retry retries', async () => {
    const w = await createWorker(
      worker('false', {
        retryPolicy: { type: RetryType.EXPONENTIAL, interval: 50, maxInterval: 120, maxRetry: 2, basis: 3 },
      }),
    );
    const started = Date.now();
    const res = await enqueue(w, commandArgs());
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(res.result?.data?.retried).toBe(2);
    // delays 50 then min(150, 120) ms: at least 170 ms in all
    expect(Date.now() - started).toBeGreaterThanOrEqual(170);
    const rows = await collect(c.jobResult.findListByJobId({ jobId: res.id! }));
    expect(rows.map((r) => r.data?.status)).toEqual([
      ResultStatus.ERROR_AND_RETRY,
      ResultStatus.ERROR_AND_RETRY,
      ResultStatus.MAX_RETRY,
    ]);
  });

  it('stops a job at its timeout (ms) and kills the child', async () => {
    const w = await createWorker(worker('sleep'));
    const started = Date.now();
    const res = await enqueue(w, commandArgs('5'), { timeout: 200 });
    const elapsed = Date.now() - started;
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(text(res.result)).toMatch(/timed out after 200 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1500);
    // the run itself was stopped at its timeout, not after the 5 s sleep
    const ran = res.result!.data!.endTime - res.result!.data!.startTime;
    expect(ran).toBeGreaterThanOrEqual(195);
    expect(ran).toBeLessThan(450);
  });

  it('never runs more jobs of a channel at once than its concurrency, and reaches it', async () => {
    const log = join(server.dataDir, 'overlap.log');
    const w = await createWorker(
      worker('sh', { channel: 'pair', responseType: ResponseType.NO_RESULT, storeSuccess: true, storeFailure: true }),
    );
    const script = `echo start $(date +%s%N) >> ${log}; sleep 0.3; echo end $(date +%s%N) >> ${log}`;
    for (let i = 0; i < 6; i++) await enqueue(w, commandArgs('-c', script));
    const ends = (): number =>
      readFileSafe(log)
        .split('\n')
        .filter((l) => l.startsWith('end')).length;
    await waitFor('six runs', async () => (ends() === 6 ? true : undefined));
    const events = readFileSafe(log)
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([kind, t]) => ({ kind, t: BigInt(t!) }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    let running = 0;
    let peak = 0;
    for (const e of events) {
      running += e.kind === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
  });

  it('runs HIGH before MEDIUM before LOW within a channel', async () => {
    const log = join(server.dataDir, 'priority.log');
    const blocker = await createWorker(worker('sleep', { channel: 'pair', responseType: ResponseType.NO_RESULT }));
    const w = await createWorker(worker('sh', { channel: 'pair', responseType: ResponseType.NO_RESULT }));
    // occupy both slots of the channel, then queue low, medium, high
    await enqueue(blocker, commandArgs('0.4'));
    await enqueue(blocker, commandArgs('0.4'));
    await sleep(100);
    for (const [p, label] of [
      [Priority.PRIORITY_LOW, 'low'],
      [Priority.PRIORITY_MEDIUM, 'medium'],
      [Priority.PRIORITY_HIGH, 'high'],
    ] as const) {
      await enqueue(w, commandArgs('-c', `echo ${label} >> ${log}`), { priority: p });
    }
    await waitFor('three runs', async () => (readFileSafe(log).trim().split('\n').length === 3 ? true : undefined));
    const order = readFileSafe(log).trim().split('\n');
    expect(order[0]).toBe('high');
    expect(order.indexOf('medium')).toBeLessThan(order.indexOf('low'));
  });

  it('starts a delayed job close to its run_after_time (prefetched from the RDB)', async () => {
    const w = await createWorker(worker('echo', { responseType: ResponseType.LISTEN_AFTER }));
    const runAfter = Date.now() + 1200;
    const { id } = await enqueue(w, commandArgs('later'), { runAfterTime: runAfter });
    expect((await call(c.jobStatus, 'find', id!)).status).toBe(JobStatus.PENDING);
    expect((await call(c.job, 'find', id!)).data?.data?.runAfterTime).toBe(runAfter);
    const result = await call(c.jobResult, 'listen', { jobId: id!, workerId: { value: w }, timeout: 5000 });
    expect(text(result)).toBe('later\n');
    const lateness = result.data!.startTime - runAfter;
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(150);
  });

  it('rejects DIRECT with run_after_time', async () => {
    const w = await createWorker(worker('echo'));
    const err = await grpcError(enqueue(w, commandArgs('x'), { runAfterTime: Date.now() + 10_000 }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/DIRECT/);
  });

  it('gives LISTEN_AFTER results to every listener, also to one that arrives after the result', async () => {
    const w = await createWorker(worker('sh', { responseType: ResponseType.LISTEN_AFTER }));
    const { id } = await enqueue(w, commandArgs('-c', 'sleep 0.3; echo done'));
    const early = [1, 2, 3].map(() =>
      call(c.jobResult, 'listen', { jobId: id!, workerId: { value: w }, timeout: 5000 }),
    );
    const results = await Promise.all(early);
    for (const r of results) expect(text(r)).toBe('done\n');
    await sleep(100);
    const late = await call(c.jobResult, 'listen', { jobId: id!, workerName: `w${seq}-sh`, timeout: 1000 });
    expect(late.data?.jobId?.value).toBe(id!.value);
    expect(text(late)).toBe('done\n');
  });

  it('ends Listen with DEADLINE_EXCEEDED after its timeout in ms', async () => {
    const w = await createWorker(worker('sleep', { responseType: ResponseType.LISTEN_AFTER }));
    const { id } = await enqueue(w, commandArgs('2'));
    const started = Date.now();
    const err = await grpcError(call(c.jobResult, 'listen', { jobId: id!, workerId: { value: w }, timeout: 300 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    await call(c.job, 'delete', id!);
  });

  it('streams results of a worker with ListenStreamByWorker', async () => {
    const w = await createWorker(worker('echo', { responseType: ResponseType.NO_RESULT }));
    const stream = c.jobResult.listenStreamByWorker({ workerId: { value: w } });
    const got: JobResult[] = [];
    stream.on('data', (r: JobResult) => got.push(r));
    stream.on('error', () => undefined);
    await sleep(200);
    await enqueue(w, commandArgs('one'));
    await enqueue(w, commandArgs('two'));
    await waitFor('two streamed results', async () => (got.length >= 2 ? true : undefined));
    stream.cancel();
    expect(got.map((r) => text(r)).sort()).toEqual(['one\n', 'two\n']);
  });

  it('rejects a second job with the same uniq_key while the first is unfinished', async () => {
    const w = await createWorker(worker('sleep', { responseType: ResponseType.NO_RESULT }));
    const first = await enqueue(w, commandArgs('0.5'), { uniqKey: 'only-one' });
    const err = await grpcError(enqueue(w, commandArgs('0.1'), { uniqKey: 'only-one' }));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.details).toMatch(/only-one/);
    await waitFor('the first to finish', async () =>
      (await call(c.jobStatus, 'find', first.id!)).status === undefined ? true : undefined,
    );
    await enqueue(w, commandArgs('0'), { uniqKey: 'only-one' });
  });

  it('reports PENDING, RUNNING and WAIT_RESULT truthfully, and no status once finished', async () => {
    const w = await createWorker(worker('sleep', { responseType: ResponseType.NO_RESULT, channel: 'pair' }));
    const a = await enqueue(w, commandArgs('0.6'));
    await waitFor('RUNNING', async () =>
      (await call(c.jobStatus, 'find', a.id!)).status === JobStatus.RUNNING ? true : undefined,
    );
    const all = await collect(c.jobStatus.findAll({}));
    expect(all.find((s) => s.id?.value === a.id!.value)?.status).toBe(JobStatus.RUNNING);
    await waitFor('finished', async () =>
      (await call(c.jobStatus, 'find', a.id!)).status === undefined ? true : undefined,
    );
  });

  it('cancels a pending job and aborts a running one (killing its child) with CANCELLED', async () => {
    const marker = join(server.dataDir, 'cancel-marker');
    const w = await createWorker(worker('sh', { responseType: ResponseType.LISTEN_AFTER }));
    const running = await enqueue(w, commandArgs('-c', `sleep 1.5; touch ${marker}`));
    await waitFor('RUNNING', async () =>
      (await call(c.jobStatus, 'find', running.id!)).status === JobStatus.RUNNING ? true : undefined,
    );
    const listening = call(c.jobResult, 'listen', { jobId: running.id!, workerId: { value: w }, timeout: 5000 });
    expect((await call(c.job, 'delete', running.id!)).isSuccess).toBe(true);
    const result = await listening;
    expect(result.data?.status).toBe(ResultStatus.CANCELLED);
    await sleep(1800);
    expect(existsSync(marker)).toBe(false);

    const delayed = await enqueue(w, commandArgs('-c', 'echo never'), { runAfterTime: Date.now() + 60_000 });
    expect((await call(c.job, 'delete', delayed.id!)).isSuccess).toBe(true);
    const stored = await collect(c.jobResult.findListByJobId({ jobId: delayed.id! }));
    expect(stored.map((r) => r.data?.status)).toEqual([ResultStatus.CANCELLED]);
    expect((await call(c.job, 'find', delayed.id!)).data).toBeUndefined();
  });

  it('runs a periodic worker on its interval and stops the series when the job is deleted', async () => {
    const w = await createWorker(worker('echo', { periodicInterval: 400, responseType: ResponseType.NO_RESULT }));
    const stream = c.jobResult.listenStreamByWorker({ workerId: { value: w } });
    const got: JobResult[] = [];
    stream.on('data', (r: JobResult) => got.push(r));
    stream.on('error', () => undefined);
    await sleep(100);
    const { id } = await enqueue(w, commandArgs('tick'));
    await waitFor('three ticks', async () => (got.length >= 3 ? true : undefined), 5000);
    const starts = got.map((r) => r.data!.runAfterTime);
    expect(starts[1]! - starts[0]!).toBe(400);
    expect(starts[2]! - starts[1]!).toBe(400);
    expect((await call(c.job, 'delete', id!)).isSuccess).toBe(true);
    const after = got.length;
    await sleep(1000);
    expect(got.length).toBeLessThanOrEqual(after + 1);
    stream.cancel();
  });

  it('stops a periodic series deleted while a run is in progress', async () => {
    const log = join(server.dataDir, 'periodic-running.log');
    const w = await createWorker(worker('sh', { periodicInterval: 400, responseType: ResponseType.NO_RESULT }));
    const { id } = await enqueue(w, commandArgs('-c', `echo run >> ${log}; sleep 0.3`));
    // RUNNING is set before the child starts: wait for the child's own line, so the delete lands mid-run
    await waitFor('the first run', async () =>
      (await call(c.jobStatus, 'find', id!)).status === JobStatus.RUNNING ? true : undefined,
    );
    await waitFor('the first run to write its line', async () =>
      readFileSafe(log).includes('run') ? true : undefined,
    );
    expect((await call(c.job, 'delete', id!)).isSuccess).toBe(true);
    await sleep(1500);
    expect(readFileSafe(log).trim().split('\n')).toEqual(['run']);
    expect((await call(c.job, 'find', id!)).data).toBeUndefined();
    expect((await call(c.jobStatus, 'find', id!)).status).toBeUndefined();
  });

  it('runs FORCED_RDB jobs from the RDB only', async () => {
    const w = await createWorker(
      worker('echo', { queueType: QueueType.FORCED_RDB, responseType: ResponseType.LISTEN_AFTER }),
    );
    const { id } = await enqueue(w, commandArgs('from the rdb'));
    const result = await call(c.jobResult, 'listen', { jobId: id!, workerId: { value: w }, timeout: 5000 });
    expect(text(result)).toBe('from the rdb\n');
  });

  it('lists and restores backed-up jobs with JobRestoreService', async () => {
    const blocker = await createWorker(worker('sleep', { channel: 'pair', responseType: ResponseType.NO_RESULT }));
    const w = await createWorker(
      worker('echo', { channel: 'pair', queueType: QueueType.WITH_BACKUP, responseType: ResponseType.LISTEN_AFTER }),
    );
    // keep the channel busy so the backed-up job waits in the queue
    await enqueue(blocker, commandArgs('0.6'));
    await enqueue(blocker, commandArgs('0.6'));
    const { id } = await enqueue(w, commandArgs('restored'));
    const listed = await collect(c.jobRestore.findAll({ includeGrabbed: true }));
    expect(listed.map((j) => j.id?.value)).toContain(id!.value);
    // already queued: Restore must not queue it twice
    expect((await call(c.jobRestore, 'restore', { includeGrabbed: true })).isSuccess).toBe(true);
    const result = await call(c.jobResult, 'listen', { jobId: id!, workerId: { value: w }, timeout: 5000 });
    expect(text(result)).toBe('restored\n');
    await sleep(300);
    const all = await collect(c.jobResult.findListByJobId({ jobId: id! }));
    expect(all).toHaveLength(1);
  });

  it('chains next_workers with each output item as args', async () => {
    const second = await createWorker(worker('echo', { responseType: ResponseType.LISTEN_AFTER }));
    // the first worker prints protobuf CommandArgs bytes (args = ["chained"]) for the next worker
    const octal = [...commandArgs('chained')].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    const first = await createWorker(worker('sh', { nextWorkers: [{ value: second }] }));
    const stream = c.jobResult.listenStreamByWorker({ workerId: { value: second } });
    const got: JobResult[] = [];
    stream.on('data', (r: JobResult) => got.push(r));
    stream.on('error', () => undefined);
    await sleep(100);
    await enqueue(first, commandArgs('-c', `printf '${octal}'`));
    await waitFor('the next worker to run', async () => (got.length >= 1 ? true : undefined));
    stream.cancel();
    expect(got[0]?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(text(got[0])).toBe('chained\n');
  });

  it('answers clearly for unknown workers and bad args', async () => {
    const err = await grpcError(call(c.job, 'enqueue', { workerName: 'nobody', args: Buffer.alloc(0) }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toMatch(/nobody/);
    const w = await createWorker(worker('echo'));
    const bad = await grpcError(enqueue(w, Buffer.from([0xff, 0xff, 0xff])));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/CommandArgs/);
  });
});

describe('restart of the all-in-one', () => {
  it('runs unfinished WITH_BACKUP jobs again after a restart and keeps delayed jobs', async () => {
    const first = await startServer({ env: { SHUTDOWN_GRACE_PERIOD_MS: '200' } });
    const dataDir = first.dataDir;
    let c = connect(first.address);
    const w = (
      await call(
        c.worker,
        'create',
        worker('sh', { queueType: QueueType.WITH_BACKUP, responseType: ResponseType.NO_RESULT }),
      )
    ).id!.value;
    const marker = join(dataDir, 'backup-ran');
    const job = await call(c.job, 'enqueue', {
      workerId: { value: w },
      args: commandArgs('-c', `sleep 2; echo ok >> ${marker}`),
    });
    const delayed = await call(c.job, 'enqueue', {
      workerId: { value: w },
      args: commandArgs('-c', 'true'),
      runAfterTime: Date.now() + 600_000,
    });
    await sleep(300);
    c.close();
    // SIGKILL: the process dies mid-run, nothing is cleaned up
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await startServer({ dataDir });
    c = connect(second.address);
    try {
      expect((await call(c.jobStatus, 'find', delayed.id!)).status).toBe(JobStatus.PENDING);
      const deadline = Date.now() + 10_000;
      while (!existsSync(marker) && Date.now() < deadline) await sleep(50);
      expect(readFileSafe(marker)).toBe('ok\n');
      const statusAfter = async (): Promise<number | undefined> => (await call(c.jobStatus, 'find', job.id!)).status;
      while ((await statusAfter()) !== undefined && Date.now() < deadline) await sleep(50);
      expect(await statusAfter()).toBeUndefined();
    } finally {
      c.close();
      await second.stop();
    }
  });
});

describe('graceful shutdown of the all-in-one', () => {
  it('lets a running job finish within the grace period on SIGTERM', async () => {
    const server = await startServer({ env: { SHUTDOWN_GRACE_PERIOD_MS: '5000' } });
    const c = connect(server.address);
    const marker = join(server.dataDir, 'drained');
    const w = (await call(c.worker, 'create', worker('sh', { responseType: ResponseType.NO_RESULT }))).id!.value;
    const job = await call(c.job, 'enqueue', {
      workerId: { value: w },
      args: commandArgs('-c', `sleep 0.5; echo done > ${marker}`),
    });
    await sleep(150);
    expect((await call(c.jobStatus, 'find', job.id!)).status).toBe(JobStatus.RUNNING);
    c.close();
    const started = Date.now();
    const code = await server.stopKeepingData();
    expect(code).toBe(0);
    expect(readFileSafe(marker)).toBe('done\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('aborts jobs when the grace period runs out and runs WITH_BACKUP ones again after a restart', async () => {
    const first = await startServer({ env: { SHUTDOWN_GRACE_PERIOD_MS: '200' } });
    let c = connect(first.address);
    const log = join(first.dataDir, 'attempts.log');
    const w = (
      await call(
        c.worker,
        'create',
        worker('sh', { queueType: QueueType.WITH_BACKUP, responseType: ResponseType.NO_RESULT }),
      )
    ).id!.value;
    await call(c.job, 'enqueue', {
      workerId: { value: w },
      args: commandArgs('-c', `echo start >> ${log}; sleep 3; echo end >> ${log}`),
    });
    await sleep(300);
    c.close();
    const started = Date.now();
    expect(await first.stopKeepingData()).toBe(0);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(readFileSafe(log)).toBe('start\n');

    const second = await startServer({ dataDir: first.dataDir });
    c = connect(second.address);
    try {
      const deadline = Date.now() + 10_000;
      while (!readFileSafe(log).includes('end') && Date.now() < deadline) await sleep(50);
      expect(readFileSafe(log)).toBe('start\nstart\nend\n');
    } finally {
      c.close();
      await second.stop();
    }
  });
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
