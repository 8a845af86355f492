/**
 * Scalable semantics across processes, on a single Redis and on a 3-master Redis Cluster: 2 grpc-fronts and
 * 3 workers sharing Redis and MariaDB.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult, WorkerData } from '../../libs/proto/src/index.js';
import { QueueType, ResponseType } from '../../libs/proto/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import type { RedisClusterHandle } from '../support/redis-cluster.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const text = (r: JobResult | undefined): string => Buffer.from(r?.data?.output?.items[0] ?? []).toString();

let seq = 0;
/** A COMMAND worker with a unique name, all results stored and no retries (NO_RESULT unless overridden). */
function worker(command: string, overrides: Partial<WorkerData> = {}): WorkerData {
  seq += 1;
  return commandWorkerData(`s${seq}-${command}-${randomBytes(2).toString('hex')}`, command, {
    storeSuccess: true,
    storeFailure: true,
    ...overrides,
  });
}

describe.each([
  { redis: 'a single Redis', cluster: false },
  { redis: 'a 3-master Redis Cluster', cluster: true },
])('Scalable across processes on $redis', ({ cluster }) => {
  const processes: ServerProcess[] = [];
  let db: { name: string; drop(): Promise<void> } | undefined;
  let redisCluster: RedisClusterHandle | undefined;
  let redisUrl = 'redis://127.0.0.1:6379';
  const prefix = `jwtest-${randomBytes(4).toString('hex')}`;
  let a: Clients;
  let b: Clients;
  let logDir: string;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    if (cluster) {
      redisCluster = await startRedisCluster();
      redisUrl = redisCluster.url;
    }
    const env = {
      STORAGE_TYPE: 'Scalable',
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: '3306',
      MYSQL_USER: 'root',
      MYSQL_DBNAME: db.name,
      REDIS_URL: redisUrl,
      REDIS_CLUSTER: String(cluster),
      REDIS_KEY_PREFIX: prefix,
      JOB_QUEUE_FETCH_INTERVAL: '300',
      WORKER_DEFAULT_CONCURRENCY: '4',
    };
    // started together (as a deployment would); whatever started is stopped in afterAll even if another failed
    const startAll = async (apps: Array<'grpc-front' | 'worker'>): Promise<ServerProcess[]> => {
      const outcomes = await Promise.allSettled(apps.map((app) => startServer({ app, env })));
      const started = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      processes.push(...started);
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      return started;
    };
    const [front1, front2] = await startAll(['grpc-front', 'grpc-front']);
    await startAll(['worker', 'worker', 'worker']);
    logDir = front1!.dataDir;
    a = connect(front1!.address);
    b = connect(front2!.address);
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await Promise.all(processes.map((p) => p.stop()));
    if (!cluster) await purgeRedisNamespace({ url: redisUrl, cluster: false }, prefix);
    await redisCluster?.stop();
    await db?.drop();
  });

  it('answers a first burst of concurrent DIRECT calls on a fresh front', async () => {
    // the front's result subscriptions start while its subscriber connection is still connecting
    const w = (await call(a.worker, 'create', worker('echo', { responseType: ResponseType.DIRECT }))).id!;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) => call(b.job, 'enqueue', { workerId: w, args: commandArgs(`burst${i}`) })),
    );
    const failed = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => String((o as PromiseRejectedResult).reason));
    expect(failed).toEqual([]);
  });

  it('returns DIRECT results across processes and honours a ms deadline', async () => {
    const w = (await call(a.worker, 'create', worker('echo', { responseType: ResponseType.DIRECT }))).id!;
    const res = await call(b.job, 'enqueue', { workerId: w, args: commandArgs('direct') });
    expect(text(res.result)).toBe('direct\n');

    const slow = (await call(a.worker, 'create', worker('sleep', { responseType: ResponseType.DIRECT }))).id!;
    const started = Date.now();
    const err = await grpcError(
      new Promise((resolve, reject) => {
        b.job.enqueue(
          { workerId: slow, args: commandArgs('3') },
          new Metadata(),
          { deadline: Date.now() + 300 },
          (e, r) => (e === null ? resolve(r) : reject(e)),
        );
      }),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives a LISTEN_AFTER result to a Listen on the other front, also after it was produced', async () => {
    const w = (await call(a.worker, 'create', worker('echo', { responseType: ResponseType.LISTEN_AFTER }))).id!;
    const { id } = await call(a.job, 'enqueue', { workerId: w, args: commandArgs('heard') });
    const early = call(b.jobResult, 'listen', { jobId: id!, workerId: w, timeout: 5000 });
    expect(text(await early)).toBe('heard\n');
    await sleep(200);
    const late = await call(b.jobResult, 'listen', { jobId: id!, workerId: w, timeout: 1000 });
    expect(text(late)).toBe('heard\n');
  });

  it('streams a worker’s results to a ListenStreamByWorker on another front', async () => {
    const w = (await call(a.worker, 'create', worker('echo'))).id!;
    const stream = b.jobResult.listenStreamByWorker({ workerId: w });
    const got: JobResult[] = [];
    stream.on('data', (r: JobResult) => got.push(r));
    stream.on('error', () => undefined);
    await sleep(300);
    await call(a.job, 'enqueue', { workerId: w, args: commandArgs('streamed') });
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) await sleep(25);
    stream.cancel();
    expect(text(got[0])).toBe('streamed\n');
  });

  it('holds uniq_key across fronts in every queue type', async () => {
    for (const queueType of [QueueType.NORMAL, QueueType.WITH_BACKUP, QueueType.FORCED_RDB]) {
      const w = (await call(a.worker, 'create', worker('sleep', { queueType }))).id!;
      const key = `k-${queueType}-${randomBytes(3).toString('hex')}`;
      await call(a.job, 'enqueue', { workerId: w, args: commandArgs('0.5'), uniqKey: key });
      const err = await grpcError(call(b.job, 'enqueue', { workerId: w, args: commandArgs('0'), uniqKey: key }));
      expect(err.code, `queue type ${queueType}`).toBe(status.ALREADY_EXISTS);
    }
  });

  it('runs each delayed job and each periodic tick exactly once with 3 workers polling', async () => {
    const log = join(logDir, `once-${cluster ? 'cluster' : 'single'}.log`);
    const w = (await call(a.worker, 'create', worker('sh'))).id!;
    const runAfter = Date.now() + 800;
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) {
      const front = i % 2 === 0 ? a : b;
      const { id } = await call(front.job, 'enqueue', {
        workerId: w,
        args: commandArgs('-c', `echo d${i} >> ${log}`),
        runAfterTime: runAfter + (i % 3) * 50,
      });
      ids.push(id!.value);
    }
    const periodic = (await call(a.worker, 'create', worker('sh', { periodicInterval: 400 }))).id!;
    const tick = await call(b.job, 'enqueue', { workerId: periodic, args: commandArgs('-c', `echo tick >> ${log}`) });
    await sleep(2600);
    await call(a.job, 'delete', tick.id!);
    await sleep(500);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const delayed = lines.filter((l) => l.startsWith('d'));
    expect(delayed.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `d${i}`).sort());
    const ticks = lines.filter((l) => l === 'tick').length;
    // about 2.6 s / 400 ms; each tick once (duplicates would push this up)
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(ticks).toBeLessThanOrEqual(8);
    const results = await collect(a.jobResult.findListByJobId({ jobId: tick.id! }));
    const runAfters = results.map((r) => r.data!.runAfterTime);
    expect(new Set(runAfters).size).toBe(runAfters.length);
  });
});
