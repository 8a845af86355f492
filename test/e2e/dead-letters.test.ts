/**
 * Dead letters end to end, on the built processes: a job failing to MAX_RETRY (store_failure off) appears in the dead
 * letters; requeue runs it again with its args (and the new run dies again, as a new dead letter); purge removes it;
 * bad filters are refused with INVALID_ARGUMENT and a message that says what to change. Standalone is driven with
 * the CLI, Scalable (a grpc-front and a worker on MariaDB and Redis) with the gRPC service.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { DeadLetter } from '../../libs/proto/src/index.js';
import { DeadLetterServiceClient, ResultStatus } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData, constantRetry } from '../support/worker-data.js';

const exec = promisify(execFile);
const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries 150 ms apart, polled every 200 ms: a job is dead after 3 runs within a second or two. */
const FAST = { JOB_QUEUE_FETCH_INTERVAL: '200' };

/** A COMMAND worker (sh) with 2 retries and no stored results; its jobs run failingArgs. */
async function addFailingWorker(c: Clients, name: string): Promise<number> {
  const data = commandWorkerData(name, 'sh', { retryPolicy: constantRetry(150, 2), storeFailure: false });
  return (await call(c.worker, 'create', data)).id!.value;
}

/** Args that append `token` to `log`, then fail (exit 3: retryable). */
const failingArgs = (log: string, token: string): Buffer => commandArgs('-c', `echo "$0" >> ${log}; exit 3`, token);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const runsOf = (log: string, token: string): number =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l === token).length;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(address: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '-a', `http://${address}`, '--format', 'json', ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

const jsonLines = (stdout: string): Array<Record<string, unknown>> =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('dead letters on Standalone (all-in-one, CLI)', () => {
  let server: ServerProcess;
  let clients: Clients;
  let log: string;

  beforeAll(async () => {
    server = await startServer({ env: FAST });
    clients = connect(server.address);
    log = join(server.dataDir, 'runs.log');
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  it('keeps a job that failed to MAX_RETRY, requeues it with its args, and purges it', async () => {
    const workerId = await addFailingWorker(clients, 'flaky');
    const job = await call(clients.job, 'enqueue', { workerId: { value: workerId }, args: failingArgs(log, 'tok-a') });
    const jobId = job.id!.value;

    const first = await waitFor('the dead letter', async () => {
      const rows = jsonLines((await cli(server.address, 'dead-letter', 'list', '-w', 'flaky')).stdout);
      return rows.find((r) => r['job_id'] === jobId);
    });
    expect(first).toMatchObject({
      worker_name: 'flaky',
      status: 'MAX_RETRY',
      retried: 2,
      max_retry: 2,
      requeued_job_id: null,
      args: { args: ['-c', `echo "$0" >> ${log}; exit 3`, 'tok-a'] },
    });
    expect(runsOf(log, 'tok-a')).toBe(3);
    // store_failure is off: no stored result, yet the dead letter is kept
    expect((await call(clients.jobResult, 'count', {})).total).toBe(0);
    expect(jsonLines((await cli(server.address, 'dead-letter', 'count', '-s', 'max_retry')).stdout)).toEqual([
      { total: 1 },
    ]);

    const requeue = await cli(server.address, 'dead-letter', 'requeue', '-i', String(first['id']));
    expect(requeue.code, requeue.stderr).toBe(0);
    const newJobId = jsonLines(requeue.stdout)[0]!['job_id'] as number;
    expect(newJobId).not.toBe(jobId);
    // it runs again with its args, and dies again: a second dead letter, for the new job
    const second = await waitFor('the dead letter of the requeued job', async () => {
      const rows = jsonLines((await cli(server.address, 'dead-letter', 'list')).stdout);
      return rows.find((r) => r['job_id'] === newJobId);
    });
    expect(second).toMatchObject({ status: 'MAX_RETRY', args: first['args'] });
    expect(runsOf(log, 'tok-a')).toBe(6);
    const found = jsonLines((await cli(server.address, 'dead-letter', 'find', '-i', String(first['id']))).stdout)[0];
    expect(found).toMatchObject({ requeued_job_id: newJobId });
    const again = await cli(server.address, 'dead-letter', 'requeue', '-i', String(first['id']));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ALREADY_EXISTS: dead letter \d+ was already requeued as job \d+/);

    const refused = await cli(server.address, 'dead-letter', 'purge');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/INVALID_ARGUMENT: purge needs a filter .*set all=true/);
    const purged = await cli(server.address, 'dead-letter', 'purge', '--requeued', 'true');
    expect(jsonLines(purged.stdout)).toEqual([{ deleted: 1 }]);
    const left = jsonLines((await cli(server.address, 'dead-letter', 'list')).stdout);
    expect(left.map((r) => r['job_id'])).toEqual([newJobId]);
    // new args, as JSON for the runner's args schema: this time the job succeeds and leaves no dead letter
    const fixed = JSON.stringify({ args: ['-c', `echo "$0" >> ${log}`, 'tok-b'] });
    const withArgs = await cli(server.address, 'dead-letter', 'requeue', '-i', String(second['id']), '-a', fixed);
    expect(withArgs.code, withArgs.stderr).toBe(0);
    await waitFor('the run with new args', async () => (runsOf(log, 'tok-b') === 1 ? true : undefined));
    expect(jsonLines((await cli(server.address, 'dead-letter', 'purge', '--all')).stdout)).toEqual([{ deleted: 1 }]);
    expect(jsonLines((await cli(server.address, 'dead-letter', 'count')).stdout)).toEqual([{ total: 0 }]);
  });

  it('turns dead letters off per worker, and refuses bad filters saying what to change', async () => {
    const workerId = await addFailingWorker(clients, 'quiet');
    const set = await cli(server.address, 'dead-letter', 'policy', 'set', '-w', 'quiet', '--enabled', 'false');
    expect(jsonLines(set.stdout)).toEqual([
      { worker_id: workerId, enabled: false, extra_statuses: [], source: 'worker' },
    ]);
    await call(clients.job, 'enqueue', { workerId: { value: workerId }, args: failingArgs(log, 'tok-q') });
    await waitFor('three runs', async () => (runsOf(log, 'tok-q') === 3 ? true : undefined));
    await sleep(300);
    expect(jsonLines((await cli(server.address, 'dead-letter', 'count', '-w', 'quiet')).stdout)).toEqual([
      { total: 0 },
    ]);

    const success = await cli(server.address, 'dead-letter', 'list', '-s', 'success');
    expect(success.code).toBe(1);
    expect(success.stderr).toMatch(/INVALID_ARGUMENT: status SUCCESS never makes a dead letter; filter by MAX_RETRY/);
    const range = await cli(
      server.address,
      'dead-letter',
      'count',
      '--from',
      '2030-01-02T00:00:00Z',
      '--before',
      '2030-01-01T00:00:00Z',
    );
    expect(range.code).toBe(1);
    expect(range.stderr).toMatch(/INVALID_ARGUMENT: died_from \(\d+\) must be earlier than died_before/);
    const nobody = await cli(server.address, 'dead-letter', 'list', '-w', 'nobody');
    expect(nobody.stderr).toMatch(/NOT_FOUND: worker "nobody" does not exist/);
    const extra = await cli(
      server.address,
      'dead-letter',
      'policy',
      'set',
      '-w',
      'quiet',
      '--enabled',
      'true',
      '--extra',
      'success',
    );
    expect(extra.stderr).toMatch(/INVALID_ARGUMENT: extra status SUCCESS cannot be chosen/);
  });

  it('is listed by reflection and callable with buf curl', async () => {
    const buf = join(REPO_ROOT, 'node_modules', '.bin', 'buf');
    const url = `http://${server.address}`;
    const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
    const listed = await exec(buf, [...base, '--list-services', url]);
    expect(listed.stdout.trim().split('\n')).toContain('jobworkerp.ext.DeadLetterService');
    const counted = await exec(buf, [
      ...base,
      '-d',
      '{"statuses":["MAX_RETRY"]}',
      `${url}/jobworkerp.ext.DeadLetterService/Count`,
    ]);
    expect(JSON.parse(counted.stdout)).toEqual({});
  });
});

describe('dead letters on Scalable (grpc-front + worker, MariaDB + Redis)', () => {
  let db: { name: string; drop(): Promise<void> };
  let env: Record<string, string>;
  const processes: ServerProcess[] = [];
  let clients: Clients;
  let dead: DeadLetterServiceClient;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    env = { ...scalableEnv(db.name, `jwtest-${randomBytes(4).toString('hex')}`), ...FAST };
    const front = await startServer({ app: 'grpc-front', env });
    processes.push(front);
    processes.push(await startServer({ app: 'worker', env }));
    clients = connect(front.address);
    dead = new DeadLetterServiceClient(front.address, credentials.createInsecure());
  });
  afterAll(async () => {
    clients?.close();
    dead?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await db?.drop();
    if (env !== undefined) {
      await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, env['REDIS_KEY_PREFIX']!);
    }
  });

  it('keeps a job that failed to MAX_RETRY, requeues it with new args, and purges it', async () => {
    // the worker runs in its own folder; the log goes to the front's, which the test can read
    const log = join(processes[0]!.dataDir, 'runs.log');
    const workerId = await addFailingWorker(clients, 'flaky');
    const job = await call(clients.job, 'enqueue', {
      workerId: { value: workerId },
      args: failingArgs(log, 'tok-s'),
      uniqKey: 'only-one',
    });
    const jobId = job.id!.value;
    const letter: DeadLetter = await waitFor('the dead letter', async () => {
      const { deadLetters } = await call(dead, 'list', { filter: { workerName: 'flaky', statuses: [] } });
      return deadLetters.find((d) => d.jobId?.value === jobId);
    });
    expect(letter).toMatchObject({
      workerName: 'flaky',
      status: ResultStatus.MAX_RETRY,
      retried: 2,
      uniqKey: 'only-one',
    });
    expect(Buffer.from(letter.args)).toEqual(failingArgs(log, 'tok-s'));
    expect(runsOf(log, 'tok-s')).toBe(3);
    expect(
      (await call(dead, 'count', { workerId: { value: workerId }, statuses: [ResultStatus.MAX_RETRY] })).total,
    ).toBe(1);

    // new args must fit the runner's args schema
    const badArgs = await grpcError(call(dead, 'requeue', { id: letter.id, args: Buffer.from([0xff, 0xff]) }));
    expect(badArgs.code).toBe(status.INVALID_ARGUMENT);
    const { jobId: newJob } = await call(dead, 'requeue', { id: letter.id, args: failingArgs(log, 'tok-s2') });
    await waitFor('the requeued runs', async () => (runsOf(log, 'tok-s2') === 3 ? true : undefined));
    const again = await waitFor('the second dead letter', async () => {
      const { deadLetters } = await call(dead, 'list', { filter: { statuses: [] } });
      return deadLetters.find((d) => d.jobId?.value === newJob?.value);
    });
    expect(Buffer.from(again.args)).toEqual(failingArgs(log, 'tok-s2'));
    expect((await call(dead, 'find', letter.id!)).data?.requeuedJobId?.value).toBe(newJob?.value);

    const range = await grpcError(call(dead, 'list', { filter: { statuses: [], diedFrom: 10, diedBefore: 5 } }));
    expect(range.code).toBe(status.INVALID_ARGUMENT);
    expect(range.details).toMatch(/died_from \(10\) must be earlier than died_before \(5\)/);
    const success = await grpcError(call(dead, 'count', { statuses: [ResultStatus.SUCCESS] }));
    expect(success.code).toBe(status.INVALID_ARGUMENT);
    expect(success.details).toMatch(/status SUCCESS never makes a dead letter/);

    // requeue-all takes what was not requeued yet: the second dead letter
    const byWorker = { workerId: { value: workerId }, statuses: [] };
    const all = await call(dead, 'requeueAll', { filter: byWorker });
    expect(all.failed).toEqual([]);
    expect(all.requeued.map((r) => r.id?.value)).toEqual([again.id?.value]);
    await waitFor('the runs of requeue-all', async () => (runsOf(log, 'tok-s2') === 6 ? true : undefined));
    await waitFor('the third dead letter', async () =>
      (await call(dead, 'count', byWorker)).total === 3 ? true : undefined,
    );
    // a dead letter whose worker is gone cannot run again: its failure says so, with the code Requeue answers
    await call(clients.worker, 'delete', { value: workerId });
    const orphans = await call(dead, 'requeueAll', { filter: byWorker });
    expect(orphans.requeued).toEqual([]);
    expect(orphans.failed.map((f) => f.code)).toEqual([status.NOT_FOUND]);
    expect(orphans.failed[0]!.message).toMatch(/no longer exists, so it cannot run again; purge it instead/);

    expect((await call(dead, 'purge', { filter: byWorker, all: false })).deleted).toBe(3);
    expect((await call(dead, 'count', { statuses: [] })).total).toBe(0);
  });
});
