/**
 * Protobuf fuzzing over every RPC of every jobworkerp service: at least 10,000 malformed or mutated messages, made
 * by fast-check from a fixed seed, sent as raw bytes through grpc-js. Every call must end with a gRPC status (never
 * INTERNAL, never a message long enough to choke a client) or, for calls that may legitimately wait (DIRECT Enqueue,
 * Listen), with its deadline; afterwards the server must still answer health checks and run a real job.
 * The COMMAND runner can only find `echo` and `true` on the server's PATH, so fuzzed workers run nothing else.
 * About 5-10 s on an idle 2-core machine (most of it the server answering); the timeout is for a loaded one.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  JobRestoreServiceService,
  JobResultServiceService,
  JobServiceService,
  JobStatusServiceService,
  ResponseType,
  ResultStatus,
  RunnerServiceService,
  WorkerServiceService,
} from '../../libs/proto/src/index.js';
import { call, connect } from '../support/grpc-clients.js';
import { tag, varint } from '../support/protobuf-bytes.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandSettings, commandWorkerData } from '../support/worker-data.js';

const SEED = 20_261_201;
const MESSAGES = 10_000;
const IN_FLIGHT = 24;
const CALL_DEADLINE_MS = 3_000;
/** a server stream is cancelled after this many messages */
const STREAM_ITEMS = 50;

const SERVICES: readonly ServiceDefinition[] = [
  JobServiceService,
  JobResultServiceService,
  JobStatusServiceService,
  JobRestoreServiceService,
  RunnerServiceService,
  WorkerServiceService,
] as unknown as ServiceDefinition[];

interface Rpc {
  readonly path: string;
  readonly responseStream: boolean;
  /** a few valid encodings of the request type, as seeds for mutations */
  readonly seeds: readonly Uint8Array[];
}

/** Valid requests worth mutating, beyond the empty one every method has. */
const SEEDS: Record<string, readonly Uint8Array[]> = {
  '/jobworkerp.service.JobService/Enqueue': [
    JobServiceService.enqueue.requestSerialize({
      workerName: 'fz',
      args: commandArgs('x'),
      uniqKey: 'k',
      timeout: 1000,
    }),
    JobServiceService.enqueue.requestSerialize({
      workerId: { value: 1 },
      args: commandArgs('a', 'b'),
      runAfterTime: Date.now() + 5000,
    }),
  ],
  '/jobworkerp.service.WorkerService/Create': [
    WorkerServiceService.create.requestSerialize(
      commandWorkerData('fz', 'echo', { responseType: ResponseType.DIRECT }),
    ),
    WorkerServiceService.create.requestSerialize(
      commandWorkerData('fz-later', 'true', {
        responseType: ResponseType.LISTEN_AFTER,
        storeSuccess: true,
        storeFailure: true,
      }),
    ),
  ],
  '/jobworkerp.service.JobResultService/Listen': [
    JobResultServiceService.listen.requestSerialize({ jobId: { value: 1 }, workerName: 'fz-later', timeout: 100 }),
  ],
};

/** Every method of every service, from the generated service definitions. */
function rpcs(): Rpc[] {
  return SERVICES.flatMap((service) =>
    Object.values(service).map((m) => {
      const empty = m.requestSerialize(m.requestDeserialize(Buffer.alloc(0)));
      return { path: m.path, responseStream: m.responseStream, seeds: [empty, ...(SEEDS[m.path] ?? [])] };
    }),
  );
}

// --- byte-level protobuf pieces ---

const interestingInts = fc.constantFrom(
  0n,
  1n,
  -1n,
  127n,
  128n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
);
const strings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "'; DROP TABLE worker; --",
    '../../../../bin/echo',
    '%_\\',
    '\u0000',
    '\u202e😀',
    'echo',
    'true',
    ' ',
  ),
  fc.string({ minLength: 200, maxLength: 400 }),
);

/** One protobuf field with any wire type, including ones no message declares and lengths that lie. */
const fieldBytes: fc.Arbitrary<number[]> = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 1, max: 20 }),
      fc.oneof(interestingInts, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })),
    )
    .map(([f, v]) => [...tag(f, 0), ...varint(v)]),
  fc.tuple(fc.integer({ min: 1, max: 20 }), strings).map(([f, s]) => {
    const b = [...Buffer.from(s, 'utf8')];
    return [...tag(f, 2), ...varint(BigInt(b.length)), ...b];
  }),
  fc
    .tuple(
      fc.integer({ min: 1, max: 20 }),
      fc.uint8Array({ maxLength: 32 }),
      fc.constantFrom(1n, 1000n, 2n ** 32n + 3n),
    )
    .map(([f, b, extra]) => [...tag(f, 2), ...varint(BigInt(b.length) + extra), ...b]),
  fc
    .tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(1, 5), fc.uint8Array({ minLength: 8, maxLength: 8 }))
    .map(([f, wire, b]) => [...tag(f, wire), ...(wire === 1 ? b : b.slice(0, 4))]),
  fc.tuple(fc.integer({ min: 0, max: 2 ** 29 - 1 }), fc.constantFrom(3, 4, 6, 7)).map(([f, wire]) => tag(f, wire)),
  // an 11-byte varint
  fc.integer({ min: 1, max: 20 }).map((f) => [...tag(f, 0), ...new Array<number>(10).fill(0xff), 0x01]),
);

/** A message: a sequence of fields, sometimes nested in length-delimited fields several levels deep. */
const message: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.array(fieldBytes, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 6 }))
  .map(([fields, nesting]) => {
    let bytes = fields.flat();
    for (const f of nesting) bytes = [...tag(f, 2), ...varint(BigInt(bytes.length)), ...bytes];
    return Uint8Array.from(bytes);
  });

/** A mutation of a valid request: bits flipped, bytes inserted, cut or appended. */
const mutate = (seed: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Uint8Array.from(seed.length === 0 ? [0] : seed);
      for (const [at, bit] of flips) b[at % b.length]! ^= 1 << bit;
      return b;
    }),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, extra]) => {
      const i = seed.length === 0 ? 0 : at % seed.length;
      return Uint8Array.from([...seed.slice(0, i), ...extra, ...seed.slice(i)]);
    }),
    fc.nat().map((at) => seed.slice(0, seed.length === 0 ? 0 : at % seed.length)),
    message.map((tail) => Uint8Array.from([...seed, ...tail])),
  );

/** Deeply nested length-delimited fields (up to about 2,000 levels). */
const deepNesting = fc.integer({ min: 100, max: 2_050 }).map((levels) => {
  // payload sizes from the innermost field out, then the headers from the outermost field in
  const sizes = [0];
  for (let i = 1; i < levels; i++) sizes.push(sizes[i - 1]! + 1 + varint(BigInt(sizes[i - 1]!)).length);
  const bytes: number[] = [];
  for (let i = levels - 1; i >= 0; i--) bytes.push(...tag(1, 2), ...varint(BigInt(sizes[i]!)));
  return Uint8Array.from(bytes);
});

function requestFor(rpc: Rpc): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
    { weight: 5, arbitrary: message },
    { weight: 4, arbitrary: fc.constantFrom(...rpc.seeds).chain(mutate) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: fc.constant(new Uint8Array()) },
  );
}

interface Outcome {
  readonly path: string;
  readonly code: status;
  readonly details: string;
}

const identity = (b: Buffer): Buffer => b;

function send(client: Client, rpc: Rpc, bytes: Uint8Array): Promise<Outcome> {
  const deadline = Date.now() + CALL_DEADLINE_MS;
  const request = Buffer.from(bytes);
  return new Promise((resolve) => {
    const done = (code: status, details: string): void => resolve({ path: rpc.path, code, details });
    if (!rpc.responseStream) {
      client.makeUnaryRequest(
        rpc.path,
        identity,
        identity,
        request,
        new Metadata(),
        { deadline },
        (err: ServiceError | null) => (err === null ? done(status.OK, '') : done(err.code, err.details)),
      );
      return;
    }
    const stream = client.makeServerStreamRequest(rpc.path, identity, identity, request, new Metadata(), { deadline });
    let items = 0;
    stream.on('data', () => {
      if (++items === STREAM_ITEMS) stream.cancel();
    });
    stream.on('error', (err: ServiceError) => done(err.code, err.details));
    stream.on('end', () => done(status.OK, ''));
  });
}

describe('protobuf fuzzing of every RPC', () => {
  let server: ServerProcess;
  let bin: string;

  beforeAll(async () => {
    bin = mkdtempSync(join(tmpdir(), 'jw-fuzz-bin-'));
    for (const tool of ['echo', 'true']) symlinkSync(`/bin/${tool}`, join(bin, tool));
    server = await startServer({ env: { PATH: bin, JOB_QUEUE_FETCH_INTERVAL: '1000', LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(bin, { recursive: true, force: true });
  });

  it(`answers ${MESSAGES} malformed messages with statuses and keeps serving`, async () => {
    const all = rpcs();
    expect(all.length).toBe(27);
    const plan = fc.sample(
      fc
        .integer({ min: 0, max: all.length - 1 })
        .chain((i) => requestFor(all[i]!).map((bytes) => ({ rpc: all[i]!, bytes }))),
      { seed: SEED, numRuns: MESSAGES },
    );
    expect(plan.length).toBe(MESSAGES);
    expect(new Set(plan.map((p) => p.rpc.path)).size).toBe(all.length);

    const client = new Client(server.address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    const outcomes: Outcome[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < plan.length) {
        const { rpc, bytes } = plan[next++]!;
        outcomes.push(await send(client, rpc, bytes));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    client.close();

    expect(outcomes).toHaveLength(MESSAGES);
    const internal = outcomes.filter((o) => o.code === status.INTERNAL || o.code === status.UNKNOWN);
    expect(internal.slice(0, 5)).toEqual([]);
    // only calls that wait for a result may run into their deadline
    const waiting = new Set([
      '/jobworkerp.service.JobService/Enqueue',
      '/jobworkerp.service.JobResultService/Listen',
      '/jobworkerp.service.JobResultService/ListenStreamByWorker',
    ]);
    const late = outcomes.filter((o) => o.code === status.DEADLINE_EXCEEDED && !waiting.has(o.path));
    expect(late.slice(0, 5)).toEqual([]);
    expect(outcomes.filter((o) => o.details.length > 2_100).slice(0, 5)).toEqual([]);
    expect(outcomes.some((o) => o.code === status.INVALID_ARGUMENT)).toBe(true);
    expect(outcomes.some((o) => o.code === status.OK)).toBe(true);
    expect(server.child.exitCode).toBeNull();

    // still healthy, and still runs a real job
    const health = new HealthClient(server.address, credentials.createInsecure());
    const answer = await call(health, 'check', { service: '' });
    health.close();
    expect(answer.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const c = connect(server.address);
    try {
      const worker = await call(
        c.worker,
        'create',
        commandWorkerData('after-fuzz', 'echo', {
          responseType: ResponseType.DIRECT,
          runnerSettings: commandSettings('echo'),
        }),
      );
      const res = await call(c.job, 'enqueue', { workerId: worker.id, args: commandArgs('still', 'alive') });
      expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
      expect(Buffer.from(res.result?.data?.output?.items[0] ?? []).toString()).toBe('still alive\n');
    } finally {
      c.close();
    }
  }, 300_000);
});
