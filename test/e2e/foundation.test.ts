/**
 * The foundation end to end: a real all-in-one process (SQLite, then MariaDB in Scalable storage) driven over gRPC.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { credentials, Metadata, status, makeGenericClientConstructor } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandRunnerSettings, QueueType, ResponseType, RetryType, RunnerType } from '../../libs/proto/src/index.js';
import type { WorkerData } from '../../libs/proto/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { rawUnaryMethod } from '../support/raw-grpc.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { commandWorkerData, constantRetry } from '../support/worker-data.js';

const exec = promisify(execFile);
const BUF = join(REPO_ROOT, 'node_modules', '.bin', 'buf');

/** An `echo` COMMAND worker with 2 constant retries and stored results (NO_RESULT, like the shared default). */
function commandWorker(name: string, overrides: Partial<WorkerData> = {}): WorkerData {
  return commandWorkerData(name, 'echo', {
    retryPolicy: constantRetry(100, 2),
    storeSuccess: true,
    storeFailure: true,
    ...overrides,
  });
}

describe('reflection and health', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists every jobworkerp service and grpc.health.v1.Health through reflection', async () => {
    const { stdout } = await exec(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '--list-services',
      `http://${server.address}`,
    ]);
    const services = stdout.trim().split('\n');
    for (const s of [
      'jobworkerp.service.RunnerService',
      'jobworkerp.service.WorkerService',
      'jobworkerp.service.JobService',
      'jobworkerp.service.JobResultService',
      'jobworkerp.service.JobStatusService',
      'jobworkerp.service.JobRestoreService',
      'grpc.health.v1.Health',
    ]) {
      expect(services).toContain(s);
    }
  });

  it('lists runners with buf curl through reflection', async () => {
    const { stdout } = await exec(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '-d',
      '{}',
      `http://${server.address}/jobworkerp.service.RunnerService/FindList`,
    ]);
    expect(stdout).toContain('"name": "COMMAND"');
    expect(stdout).toContain('"runnerType": "MAIL"');
  });

  it('answers health checks', async () => {
    const { stdout } = await exec(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '-d',
      '{}',
      `http://${server.address}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ status: 'SERVING' });
  });
});

describe.each([
  { storage: 'SQLite (Standalone)', scalable: false },
  { storage: 'MariaDB (STORAGE_TYPE=Scalable)', scalable: true },
])('runners and workers on $storage', ({ scalable }) => {
  let server: ServerProcess;
  let c: Clients;
  let dropDb: (() => Promise<void>) | undefined;
  const redisPrefix = `jwtest-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const env: Record<string, string> = {};
    if (scalable) {
      const db = await tempMariaDatabase();
      dropDb = () => db.drop();
      Object.assign(env, {
        STORAGE_TYPE: 'Scalable',
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: '3306',
        MYSQL_USER: 'root',
        MYSQL_DBNAME: db.name,
        REDIS_KEY_PREFIX: redisPrefix,
      });
    }
    server = await startServer({ env, app: scalable ? 'grpc-front' : 'all-in-one' });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    await dropDb?.();
    if (scalable) await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, redisPrefix);
  });

  it('streams the six built-in runners with their schemas', async () => {
    const runners = await collect(c.runner.findList({}));
    expect(runners.map((r) => [r.id?.value, r.data?.name, r.data?.runnerType])).toEqual([
      [1, 'COMMAND', RunnerType.COMMAND],
      [2, 'HTTP_REQUEST', RunnerType.HTTP_REQUEST],
      [3, 'GRPC_UNARY', RunnerType.GRPC_UNARY],
      [4, 'DOCKER', RunnerType.DOCKER],
      [5, 'SLACK_NOTIFICATION', RunnerType.SLACK_NOTIFICATION],
      [6, 'MAIL', RunnerType.MAIL],
    ]);
    for (const r of runners) {
      expect(r.data?.runnerSettingsProto).toMatch(/message \w+/);
      expect(r.data?.jobArgsProto).toMatch(/message \w+/);
    }
    expect(runners[0]?.data?.runnerSettingsProto).toContain('CommandRunnerSettings');
    expect((await call(c.runner, 'count', {})).total).toBe(6);
    expect((await call(c.runner, 'find', { value: 2 })).data?.data?.name).toBe('HTTP_REQUEST');
    expect((await call(c.runner, 'find', { value: 999 })).data).toBeUndefined();
  });

  it('creates, finds, updates, lists, counts and deletes workers', async () => {
    const created = await call(c.worker, 'create', commandWorker('echo-a'));
    const id = created.id!.value;
    expect(id).toBeGreaterThan(0);

    const found = (await call(c.worker, 'find', { value: id })).data;
    expect(found?.data?.name).toBe('echo-a');
    expect(CommandRunnerSettings.decode(found!.data!.runnerSettings).name).toBe('echo');
    expect(found?.data?.retryPolicy).toEqual({
      type: RetryType.CONSTANT,
      interval: 100,
      maxInterval: 0,
      maxRetry: 2,
      basis: 2,
    });
    expect((await call(c.worker, 'findByName', { name: 'echo-a' })).data?.id?.value).toBe(id);
    expect((await call(c.worker, 'findByName', { name: 'nope' })).data).toBeUndefined();

    const updated = await call(c.worker, 'update', {
      id: { value: id },
      data: commandWorker('echo-a2', { channel: 'slow', queueType: QueueType.WITH_BACKUP }),
    });
    expect(updated.isSuccess).toBe(true);
    const after = (await call(c.worker, 'find', { value: id })).data?.data;
    expect(after?.name).toBe('echo-a2');
    expect(after?.channel).toBe('slow');
    expect(after?.queueType).toBe(QueueType.WITH_BACKUP);

    for (const n of ['echo-b', 'echo-c', 'echo-d']) await call(c.worker, 'create', commandWorker(n));
    expect((await call(c.worker, 'count', {})).total).toBe(4);
    const page = await collect(c.worker.findList({ limit: 2, offset: 1 }));
    expect(page.map((w) => w.data?.name)).toEqual(['echo-b', 'echo-c']);

    expect((await call(c.worker, 'delete', { value: id })).isSuccess).toBe(true);
    expect((await call(c.worker, 'delete', { value: id })).isSuccess).toBe(false);
    expect((await call(c.worker, 'find', { value: id })).data).toBeUndefined();
    expect((await call(c.worker, 'count', {})).total).toBe(3);
  });

  it('rejects bad workers with a status and a message', async () => {
    const unknownRunner = await grpcError(call(c.worker, 'create', commandWorker('x1', { runnerId: { value: 77 } })));
    expect(unknownRunner.code).toBe(status.INVALID_ARGUMENT);
    expect(unknownRunner.details).toMatch(/runner_id 77 does not exist/);

    await call(c.worker, 'create', commandWorker('dup'));
    const dup = await grpcError(call(c.worker, 'create', commandWorker('dup')));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    expect(dup.details).toMatch(/dup/);

    const garbage = await grpcError(
      call(c.worker, 'create', commandWorker('x2', { runnerSettings: Buffer.from([0xff, 0xff, 0xff, 0xff]) })),
    );
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/runner_settings .*CommandRunnerSettings/);

    const directPeriodic = await grpcError(
      call(c.worker, 'create', commandWorker('x3', { periodicInterval: 5000, responseType: ResponseType.DIRECT })),
    );
    expect(directPeriodic.code).toBe(status.INVALID_ARGUMENT);
    expect(directPeriodic.details).toMatch(/periodic .*DIRECT/);

    const shortPeriod = await grpcError(call(c.worker, 'create', commandWorker('x4', { periodicInterval: 500 })));
    expect(shortPeriod.code).toBe(status.INVALID_ARGUMENT);
    expect(shortPeriod.details).toMatch(/JOB_QUEUE_FETCH_INTERVAL/);

    const forcedDirect = await grpcError(
      call(
        c.worker,
        'create',
        commandWorker('x5', { queueType: QueueType.FORCED_RDB, responseType: ResponseType.DIRECT }),
      ),
    );
    expect(forcedDirect.code).toBe(status.INVALID_ARGUMENT);

    const listenNoStore = await grpcError(
      call(c.worker, 'create', commandWorker('x6', { responseType: ResponseType.LISTEN_AFTER, storeFailure: false })),
    );
    expect(listenNoStore.details).toMatch(/LISTEN_AFTER needs store_success and store_failure/);

    const badBasis = await grpcError(
      call(
        c.worker,
        'create',
        commandWorker('x7', {
          retryPolicy: { type: RetryType.EXPONENTIAL, interval: 10, maxInterval: 0, maxRetry: 1, basis: 0.5 },
        }),
      ),
    );
    expect(badBasis.details).toMatch(/basis/);
    // basis is only checked for EXPONENTIAL
    await call(
      c.worker,
      'create',
      commandWorker('x8', {
        retryPolicy: { type: RetryType.LINEAR, interval: 10, maxInterval: 0, maxRetry: 1, basis: 0.5 },
      }),
    );

    const missing = await grpcError(call(c.worker, 'update', { id: { value: 123456 }, data: commandWorker('zz') }));
    expect(missing.code).toBe(status.NOT_FOUND);
  });
});

/** A protobuf writer for the test below, independent of our generated code. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const field = (no: number, wire: number): number[] => varint(no * 8 + wire);
const lenDelim = (no: number, bytes: number[]): number[] => [...field(no, 2), ...varint(bytes.length), ...bytes];
const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const varintField = (no: number, v: number): number[] => [...field(no, 0), ...varint(v)];

/** Reads top-level fields of a protobuf message: field number → list of raw values (numbers or byte arrays). */
function readFields(buf: Buffer): Map<number, Array<number | Buffer>> {
  const out = new Map<number, Array<number | Buffer>>();
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const b = buf[pos++]!;
      result += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) return result;
      shift *= 128;
    }
  };
  while (pos < buf.length) {
    const tag = readVarint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: number | Buffer;
    if (wire === 0) value = readVarint();
    else if (wire === 2) {
      const len = readVarint();
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 5) {
      value = buf.readFloatLE(pos);
      pos += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

describe('wire compatibility with the upstream field numbers', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('decodes a hand-encoded WorkerData and returns hand-decodable responses', async () => {
    const Client = makeGenericClientConstructor(
      {
        create: rawUnaryMethod('/jobworkerp.service.WorkerService/Create'),
        find: rawUnaryMethod('/jobworkerp.service.WorkerService/Find'),
      },
      'WorkerService',
    );
    const client = new Client(server.address, credentials.createInsecure()) as unknown as {
      create(req: Buffer, md: Metadata, cb: (e: Error | null, r: Buffer) => void): void;
      find(req: Buffer, md: Metadata, cb: (e: Error | null, r: Buffer) => void): void;
      close(): void;
    };
    const invoke = (m: 'create' | 'find', req: Buffer): Promise<Buffer> =>
      new Promise((res, rej) => client[m](req, new Metadata(), (e, r) => (e === null ? res(r) : rej(e))));

    // CommandRunnerSettings { name(1) = "echo" }
    const settings = lenDelim(1, utf8('echo'));
    // RetryPolicy { type(1)=LINEAR(2), interval(2)=250, max_interval(3)=1000, max_retry(4)=3, basis(5)=1.5f }
    const basis = Buffer.alloc(4);
    basis.writeFloatLE(1.5);
    const retry = [
      ...varintField(1, 2),
      ...varintField(2, 250),
      ...varintField(3, 1000),
      ...varintField(4, 3),
      ...field(5, 5),
      ...basis,
    ];
    // WorkerData per jobworkerp v0.7.0
    const workerData = Buffer.from([
      ...lenDelim(1, utf8('wire-worker')), // name
      ...lenDelim(2, varintField(1, 1)), // runner_id { value: 1 }
      ...lenDelim(3, settings), // runner_settings
      ...lenDelim(4, retry), // retry_policy
      ...lenDelim(6, utf8('wire-channel')), // channel
      ...varintField(7, 1), // queue_type WITH_BACKUP
      ...varintField(8, 2), // response_type LISTEN_AFTER
      ...varintField(9, 1), // store_success
      ...varintField(10, 1), // store_failure
      ...varintField(12, 1), // use_static
    ]);
    const createResponse = readFields(await invoke('create', workerData));
    // CreateWorkerResponse { id(1): WorkerId { value(1) } }
    const idMsg = readFields(createResponse.get(1)![0] as Buffer);
    const id = idMsg.get(1)![0] as number;
    expect(id).toBeGreaterThan(0);

    const found = readFields(await invoke('find', Buffer.from(varintField(1, id))));
    // OptionalWorkerResponse { data(1): Worker { id(1), data(2): WorkerData } }
    const worker = readFields(found.get(1)![0] as Buffer);
    const data = readFields(worker.get(2)![0] as Buffer);
    expect((data.get(1)![0] as Buffer).toString()).toBe('wire-worker');
    expect(
      readFields(data.get(3)![0] as Buffer)
        .get(1)![0]!
        .toString(),
    ).toBe('echo');
    const policy = readFields(data.get(4)![0] as Buffer);
    expect([policy.get(1)![0], policy.get(2)![0], policy.get(3)![0], policy.get(4)![0], policy.get(5)![0]]).toEqual([
      2, 250, 1000, 3, 1.5,
    ]);
    expect((data.get(6)![0] as Buffer).toString()).toBe('wire-channel');
    expect(data.get(7)![0]).toBe(1);
    expect(data.get(8)![0]).toBe(2);
    expect(data.get(9)![0]).toBe(1);
    expect(data.get(10)![0]).toBe(1);
    expect(data.get(12)![0]).toBe(1);
    client.close();
  });
});

describe('AUTH_TOKEN', () => {
  let server: ServerProcess;
  let c: Clients;
  beforeAll(async () => {
    server = await startServer({ env: { AUTH_TOKEN: 's3cret-token' } });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  it('rejects calls without the token and accepts calls with it', async () => {
    const none = await grpcError(call(c.runner, 'count', {}));
    expect(none.code).toBe(status.UNAUTHENTICATED);
    expect(none.details).toMatch(/jobworkerp-auth/);

    const wrong = new Metadata();
    wrong.set('jobworkerp-auth', 'guess');
    const bad = await grpcError(call(c.runner, 'count', {}, wrong));
    expect(bad.code).toBe(status.UNAUTHENTICATED);
    expect(bad.details).not.toContain('s3cret-token');

    const right = new Metadata();
    right.set('jobworkerp-auth', 's3cret-token');
    expect((await call(c.runner, 'count', {}, right)).total).toBe(6);
    expect(server.output()).not.toContain('s3cret-token');
  });

  it('lets health checks through without the token', async () => {
    // reflection needs the token too, so the probe brings its own schema
    const { stdout } = await exec(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '--schema',
      join(REPO_ROOT, 'proto/grpc/health/v1/health.proto'),
      '-d',
      '{}',
      `http://${server.address}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ status: 'SERVING' });
  });

  it('serves reflection to buf curl when it sends the token', async () => {
    const { stdout } = await exec(BUF, [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '-H',
      'jobworkerp-auth: s3cret-token',
      '--reflect-header',
      'jobworkerp-auth: s3cret-token',
      '-d',
      '{}',
      `http://${server.address}/jobworkerp.service.RunnerService/Count`,
    ]);
    expect(JSON.parse(stdout)).toEqual({ total: '6' });
  });
});
