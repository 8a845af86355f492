/**
 * Bad input end to end, on a real all-in-one (SQLite) and a real grpc-front (Redis + MariaDB): every value that could
 * only fail later is refused up front with INVALID_ARGUMENT naming the limit or field; backlogs are capped in total;
 * echoed values are cut; a DIRECT call its client gives up is logged at info level.
 */
import { randomBytes } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { mysqlMaxArgsBytes } from '../../libs/storage/src/mysql-storage.js';
import { CommandArgs, ResponseType, ResultStatus } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import { varintField } from '../support/protobuf-bytes.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

/** Enqueues `count` jobs of `workerId`; resolves with what each call answered. */
const enqueueMany = (
  c: Clients,
  workerIds: readonly number[],
  count: number,
): Promise<Array<ServiceError | undefined>> =>
  Promise.all(
    Array.from({ length: count }, (_, i) =>
      call(c.job, 'enqueue', { workerId: { value: workerIds[i % workerIds.length]! }, args: commandArgs('x') }).then(
        () => undefined,
        (err: ServiceError) => err,
      ),
    ),
  );

/**
 * With JOB_QUEUE_MAX_PENDING=4 and JOB_QUEUE_MAX_PENDING_TOTAL=6 and an empty queue: 9 jobs spread over 3 channels
 * nobody serves (3 each, under the per-channel cap) get 6 accepted and 3 refused for the total.
 */
async function expectTotalCap(c: Clients): Promise<void> {
  const workers = await parkedWorkers(c, 'parked');
  const answers = await enqueueMany(c, workers, 9);
  const refused = answers.filter((a) => a !== undefined);
  expect(answers.length - refused.length).toBe(6);
  for (const err of refused) {
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('JOB_QUEUE_MAX_PENDING_TOTAL');
  }
}

/** Parked workers: NO_RESULT jobs on channels no process serves. */
const parkedWorkers = async (c: Clients, prefix: string): Promise<number[]> => {
  const ids: number[] = [];
  for (const channel of ['n1', 'n2', 'n3']) {
    const res = await call(c.worker, 'create', commandWorkerData(`${prefix}-${channel}`, 'true', { channel }));
    ids.push(res.id!.value);
  }
  return ids;
};

describe('input limits: Standalone all-in-one', () => {
  let server: ServerProcess;
  let c: Clients;

  beforeAll(async () => {
    server = await startServer({
      env: { LOG_LEVEL: 'info', JOB_QUEUE_MAX_PENDING: '4', JOB_QUEUE_MAX_PENDING_TOTAL: '6' },
    });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  it('refuses a uniq_key longer than the 255-character column, and finishes one of 255', async () => {
    const worker = await call(
      c.worker,
      'create',
      commandWorkerData('later', 'echo', {
        responseType: ResponseType.LISTEN_AFTER,
        storeSuccess: true,
        storeFailure: true,
      }),
    );
    const tooLong = await grpcError(
      call(c.job, 'enqueue', { workerId: worker.id, args: commandArgs('a'), uniqKey: 'k'.repeat(300) }),
    );
    expect(tooLong.code).toBe(status.INVALID_ARGUMENT);
    expect(tooLong.details).toBe('uniq_key must be at most 255 characters, got 300');
    // counted in characters, as the column counts them
    const wide = '😀'.repeat(255);
    const res = await call(c.job, 'enqueue', { workerId: worker.id, args: commandArgs('b'), uniqKey: wide });
    const result = await call(c.jobResult, 'listen', { jobId: res.id!, workerId: worker.id, timeout: 20_000 });
    expect(result.data?.status).toBe(ResultStatus.SUCCESS);
    expect(result.data?.uniqKey).toBe(wide);
    // the key is free again
    await call(c.job, 'enqueue', { workerId: worker.id, args: commandArgs('c'), uniqKey: wide });
  });

  it('answers a 100,000-character worker_name at once with a short message', async () => {
    const err = await grpcError(call(c.job, 'enqueue', { workerName: 'n'.repeat(100_000), args: commandArgs('a') }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('worker_name must be at most 128 characters, got 100000');
  });

  it('refuses negative paging in JobService.FindList like the other FindList calls', async () => {
    for (const paging of [{ offset: -1 }, { limit: -1 }]) {
      const err = await grpcError(collect(c.job.findList(paging)));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^(offset|limit) must be a non-negative integer, got -1$/);
    }
  });

  it('refuses COMMAND settings without an executable at Create and Update, naming the field', async () => {
    const create = await grpcError(
      call(c.worker, 'create', { ...commandWorkerData('empty', 'x'), runnerSettings: Buffer.alloc(0) }),
    );
    expect(create.code).toBe(status.INVALID_ARGUMENT);
    expect(create.details).toContain('runner_settings.name must be set');
    const ok = await call(c.worker, 'create', commandWorkerData('fine', 'echo'));
    const update = await grpcError(
      call(c.worker, 'update', {
        id: ok.id,
        data: { ...commandWorkerData('fine', 'x'), runnerSettings: Buffer.alloc(0) },
      }),
    );
    expect(update.code).toBe(status.INVALID_ARGUMENT);
    expect(update.details).toContain('runner_settings.name must be set');
  });

  it('names an out-of-range 64-bit field and its range', async () => {
    const client = new Client(server.address, credentials.createInsecure());
    const raw = (bytes: number[]): Promise<ServiceError> =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          '/jobworkerp.service.JobService/Enqueue',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(bytes),
          new Metadata(),
          {},
          (err: ServiceError | null) => (err === null ? reject(new Error('expected an error')) : resolve(err)),
        );
      });
    try {
      const timeout = await raw(varintField(7, 2n ** 64n - 1n));
      expect(timeout.code).toBe(status.INVALID_ARGUMENT);
      expect(timeout.details).toContain('timeout is 18446744073709551615, out of range');
      const runAfter = await raw(varintField(5, 2n ** 62n));
      expect(runAfter.code).toBe(status.INVALID_ARGUMENT);
      expect(runAfter.details).toContain('run_after_time is 4611686018427387904, out of range');
    } finally {
      client.close();
    }
  });

  it('logs a DIRECT call its client gave up at info level, without a stack', async () => {
    const worker = await call(
      c.worker,
      'create',
      commandWorkerData('slow', 'sleep', { responseType: ResponseType.DIRECT }),
    );
    const err = await new Promise<ServiceError>((resolve) => {
      c.job.enqueue(
        { workerId: worker.id, args: commandArgs('2') },
        new Metadata(),
        { deadline: Date.now() + 300 },
        (e) => resolve(e!),
      );
    });
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    const until = Date.now() + 10_000;
    while (!server.output().includes('the client cancelled its call') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.includes('cancelled'));
    expect(lines.some((l) => l.includes('"level":30') && l.includes('the client cancelled its call'))).toBe(true);
    expect(lines.filter((l) => /"level":(40|50)/.test(l))).toEqual([]);
    expect(lines.join('\n')).not.toContain('    at ');
  });

  it('caps the backlog of the whole process, not only per channel', async () => {
    // start from an empty queue: jobs of the tests above may still run
    const until = Date.now() + 20_000;
    while ((await call(c.job, 'count', {})).total > 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    await expectTotalCap(c);
  });
});

describe('input limits: Scalable grpc-front', () => {
  let db: { name: string; drop(): Promise<void> };
  let front: ServerProcess;
  let worker: ServerProcess;
  let c: Clients;
  const keyPrefix = `jwtest-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    front = await startServer({
      app: 'grpc-front',
      env: {
        ...scalableEnv(db.name, keyPrefix),
        JOB_QUEUE_MAX_PENDING: '4',
        JOB_QUEUE_MAX_PENDING_TOTAL: '6',
      },
    });
    // outputs larger than one MariaDB packet can hold make results the database refuses
    worker = await startServer({
      app: 'worker',
      env: {
        ...scalableEnv(db.name, keyPrefix),
        COMMAND_MAX_OUTPUT_BYTES: String(20 * 1024 * 1024),
        JOB_LEASE_MS: '3000',
      },
    });
    c = connect(front.address);
  });
  afterAll(async () => {
    c?.close();
    await worker?.stop();
    await front?.stop();
    await db?.drop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, keyPrefix);
  });

  it('refuses args larger than MariaDB can store, naming the limit, and a uniq_key beyond its column', async () => {
    const conn = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    const [rows] = await conn.query('SELECT @@GLOBAL.max_allowed_packet AS bytes');
    await conn.end();
    const limit = mysqlMaxArgsBytes(Number((rows as Array<{ bytes: number }>)[0]!.bytes));
    const worker = await call(c.worker, 'create', commandWorkerData('big', 'echo', { channel: 'nobody' }));
    const big = Buffer.from(CommandArgs.encode({ args: ['x'.repeat(limit)] }).finish());
    const err = await grpcError(call(c.job, 'enqueue', { workerId: worker.id, args: big }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `args must be at most ${limit} bytes (what the mysql database can store), got ${big.length}`,
    );
    const key = await grpcError(
      call(c.job, 'enqueue', { workerId: worker.id, args: commandArgs('a'), uniqKey: 'k'.repeat(256) }),
    );
    expect(key.code).toBe(status.INVALID_ARGUMENT);
    expect(key.details).toBe('uniq_key must be at most 255 characters, got 256');
  });

  it('ends a job whose result the database refuses with OTHER_ERROR, releasing its uniq_key', async () => {
    const w = await call(
      c.worker,
      'create',
      commandWorkerData('huge-output', 'head', {
        responseType: ResponseType.LISTEN_AFTER,
        storeSuccess: true,
        storeFailure: true,
      }),
    );
    const args = commandArgs('-c', String(17 * 1024 * 1024), '/dev/zero');
    const job = await call(c.job, 'enqueue', { workerId: w.id, args, uniqKey: 'poison' });
    const result = await call(c.jobResult, 'listen', { jobId: job.id!, workerId: w.id, timeout: 60_000 });
    expect(result.data?.status).toBe(ResultStatus.OTHER_ERROR);
    expect(Buffer.from(result.data?.output?.items[0] ?? []).toString()).toContain('storing the result failed 3 times');
    expect(worker.output()).toContain('giving up a job whose result cannot be stored');
    // the key is free, and the job is not run again
    const again = await call(c.job, 'enqueue', {
      workerId: w.id,
      args: commandArgs('-c', '1', '/dev/zero'),
      uniqKey: 'poison',
    });
    const second = await call(c.jobResult, 'listen', { jobId: again.id!, workerId: w.id, timeout: 30_000 });
    expect(second.data?.status).toBe(ResultStatus.SUCCESS);
    expect((await call(c.job, 'find', job.id!)).data).toBeUndefined();
  }, 120_000);

  it('caps the backlog of the whole Redis queue, not only per channel', async () => {
    await expectTotalCap(c);
  });
});
