/**
 * jobworkerp.ext.JobBatchService end to end, on the Standalone all-in-one and on a Scalable front + worker:
 * every job of a batch or a stream is checked like a unary Enqueue and fails alone, outcomes come in request order,
 * and the jobs that were accepted all run.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueOutcome, JobRequest } from '../../libs/proto/src/index.js';
import { JobBatchServiceClient, Priority, ResponseType } from '../../libs/proto/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** the limit of one EnqueueBatch call (libs/front MAX_BATCH_JOBS) */
const MAX_BATCH_JOBS = 10_000;

function enqueueBatch(client: JobBatchServiceClient, jobs: JobRequest[]): Promise<EnqueueOutcome[]> {
  return new Promise((resolve, reject) => {
    client.enqueueBatch({ jobs }, (err, res) => (err === null ? resolve(res.outcomes) : reject(err)));
  });
}

/** Sends every request on one EnqueueStream, then ends the client side; resolves with every outcome. */
function enqueueStream(client: JobBatchServiceClient, requests: JobRequest[]): Promise<EnqueueOutcome[]> {
  const stream = client.enqueueStream();
  const outcomes = collect<EnqueueOutcome>(stream);
  void (async () => {
    for (const req of requests) {
      if (!stream.write(req)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    }
    stream.end();
  })();
  return outcomes;
}

const job = (workerName: string, arg: string, extra: Partial<JobRequest> = {}): JobRequest => ({
  workerName,
  args: commandArgs(arg),
  ...extra,
});

describe.each([
  { mode: 'Standalone all-in-one', scalable: false },
  { mode: 'Scalable front and worker', scalable: true },
])('JobBatchService on the $mode', ({ scalable }) => {
  const processes: ServerProcess[] = [];
  let c: Clients;
  let batch: JobBatchServiceClient;
  let address: string;
  let dropDb: (() => Promise<void>) | undefined;
  const redisPrefix = `jwtest-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const env: Record<string, string> = { WORKER_DEFAULT_CONCURRENCY: '8', SHUTDOWN_GRACE_PERIOD_MS: '500' };
    if (scalable) {
      const db = await tempMariaDatabase();
      dropDb = () => db.drop();
      Object.assign(env, {
        STORAGE_TYPE: 'Scalable',
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: '3306',
        MYSQL_USER: 'root',
        MYSQL_DBNAME: db.name,
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: redisPrefix,
      });
      processes.push(await startServer({ app: 'grpc-front', env }));
      processes.push(await startServer({ app: 'worker', env }));
    } else {
      processes.push(await startServer({ env }));
    }
    address = processes[0]!.address;
    c = connect(address);
    batch = new JobBatchServiceClient(address, credentials.createInsecure());
    await call(c.worker, 'create', commandWorkerData('batch-echo', 'echo', { storeSuccess: true }));
    await call(c.worker, 'create', commandWorkerData('batch-direct', 'echo', { responseType: ResponseType.DIRECT }));
  }, 120_000);
  afterAll(async () => {
    batch?.close();
    c?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await dropDb?.();
    if (scalable) await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, redisPrefix);
  });

  /** The output of the stored result of each job id, once every one of `ids` has one. */
  async function outputsOf(ids: number[]): Promise<Map<number, string>> {
    const until = Date.now() + 60_000;
    for (;;) {
      const results = await collect(c.jobResult.findList({ limit: 10_000 }));
      const outputs = new Map(
        results.map((r) => [
          r.data!.jobId!.value,
          Buffer.from(r.data!.output?.items[0] ?? [])
            .toString()
            .trim(),
        ]),
      );
      if (ids.every((id) => outputs.has(id))) return outputs;
      if (Date.now() > until)
        throw new Error(`only ${ids.filter((id) => outputs.has(id)).length} of ${ids.length} jobs ran`);
      await sleep(200);
    }
  }

  it('answers each job of a batch in order: an id, or the status a unary Enqueue would give; the accepted jobs run', async () => {
    const requests = [
      job('batch-echo', 'first'),
      job('no-such-worker', 'x'),
      job('batch-echo', 'second'),
      job('batch-echo', 'x', { priority: 42 as Priority }),
      job('batch-direct', 'x'),
      job('batch-echo', 'x', { runAfterTime: -1 }),
      { args: commandArgs('x') },
      job('batch-echo', 'third', { priority: Priority.PRIORITY_HIGH }),
    ];
    const outcomes = await enqueueBatch(batch, requests);
    expect(outcomes.map((o) => (o.id !== undefined ? 'id' : o.error?.code))).toEqual([
      'id',
      status.NOT_FOUND,
      'id',
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
      'id',
    ]);
    expect(outcomes[1]?.error?.message).toBe('worker "no-such-worker" does not exist');
    expect(outcomes[3]?.error?.message).toMatch(/priority 42 is unknown/);
    expect(outcomes[4]?.error?.message).toMatch(/worker "batch-direct" is DIRECT: .* JobService\.Enqueue/);
    expect(outcomes[6]?.error?.message).toBe('give the worker, by worker_id or worker_name');

    // the same checks as the unary call, word for word
    const unary = await grpcError(call(c.job, 'enqueue', requests[3]!));
    expect([unary.code, unary.details]).toEqual([outcomes[3]?.error?.code, outcomes[3]?.error?.message]);

    const ids = [0, 2, 7].map((i) => outcomes[i]!.id!.value);
    const outputs = await outputsOf(ids);
    expect(ids.map((id) => outputs.get(id))).toEqual(['first', 'second', 'third']);
  });

  it('answers a stream of requests with one outcome each, in order, and runs every accepted job', async () => {
    const total = 600;
    const requests = Array.from({ length: total }, (_, i) =>
      i === 100 ? job('no-such-worker', String(i)) : job('batch-echo', String(i)),
    );
    const outcomes = await enqueueStream(batch, requests);
    expect(outcomes).toHaveLength(total);
    expect(outcomes[100]?.error?.code).toBe(status.NOT_FOUND);
    const accepted = outcomes.flatMap((o, i) => (o.id !== undefined ? [[i, o.id.value] as const] : []));
    expect(accepted).toHaveLength(total - 1);
    expect(new Set(accepted.map(([, id]) => id)).size).toBe(total - 1);
    // each id answers its own request: the job with the n-th id echoes n
    const outputs = await outputsOf(accepted.map(([, id]) => id));
    for (const [i, id] of accepted) expect(outputs.get(id)).toBe(String(i));
  }, 120_000);

  it('ends a stream the client ends without sending anything', async () => {
    expect(await enqueueStream(batch, [])).toEqual([]);
  });

  it('refuses a batch larger than the limit as a whole, and enqueues none of it', async () => {
    const before = (await call(c.job, 'count', {})).total;
    const requests = Array.from({ length: MAX_BATCH_JOBS + 1 }, () => job('batch-echo', 'too many'));
    const err: ServiceError = await grpcError(enqueueBatch(batch, requests));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `a batch holds at most ${MAX_BATCH_JOBS} jobs, this one ${MAX_BATCH_JOBS + 1}: split it, or use EnqueueStream`,
    );
    expect((await call(c.job, 'count', {})).total).toBeLessThanOrEqual(before);
  });

  it('is listed by reflection', async () => {
    const { stdout } = await exec(join(REPO_ROOT, 'node_modules', '.bin', 'buf'), [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '--list-services',
      `http://${address}`,
    ]);
    expect(stdout.trim().split('\n')).toContain('jobworkerp.ext.JobBatchService');
  });
});
