/**
 * Traces end to end, on the built processes with OTLP_ADDR pointing at a small OTLP/HTTP receiver in the test:
 * - Scalable (a grpc-front and a worker on MariaDB and Redis): a client's traceparent is continued by the front's
 *   Enqueue span; the job travels through Redis, fails once and is retried through its MariaDB row, then chains to a
 *   next worker; every span shares the client's trace, each run is a child of the Enqueue span, the next job's run
 *   a child of the run that made it, and each finishing step a child of its run.
 * - Standalone (all-in-one): an EnqueueBatch call's span, and an EnqueueStream call's, is the parent of the runs of
 *   its jobs; a refused Enqueue's span is an error saying what the caller was told.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../libs/config/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { EnqueueOutcome, JobRequest } from '../../libs/proto/src/index.js';
import { JobBatchServiceClient, ResponseType } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import type { OtlpReceiver, ReceivedSpan } from '../support/otlp-receiver.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData, constantRetry } from '../support/worker-data.js';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';
const SERVER = 2;
const CONSUMER = 5;
const ERROR = 2;

/** `sh -c` script printing the protobuf CommandArgs bytes of `args` (the next COMMAND worker's args). */
function printArgs(...args: string[]): string {
  const octal = [...commandArgs(...args)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  return `printf '${octal}'`;
}

const runsOf = (spans: readonly ReceivedSpan[], worker: string): ReceivedSpan[] =>
  spans
    .filter((s) => s.kind === CONSUMER && s.attributes['jobworkerp.worker.name'] === worker)
    .sort((a, b) => Number(a.attributes['jobworkerp.job.attempt']) - Number(b.attributes['jobworkerp.job.attempt']));

describe('traces on Scalable (grpc-front + worker)', () => {
  const keyPrefix = `jwtest-${randomBytes(4).toString('hex')}`;
  let db: { name: string; drop(): Promise<void> } | undefined;
  let receiver: OtlpReceiver;
  let front: ServerProcess;
  let worker: ServerProcess;
  let clients: Clients;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'jw-traces-'));
    receiver = await startOtlpReceiver();
    db = await tempMariaDatabase();
    const env = { ...scalableEnv(db.name, keyPrefix), JOB_QUEUE_FETCH_INTERVAL: '200', OTLP_ADDR: receiver.url };
    front = await startServer({ app: 'grpc-front', env });
    worker = await startServer({ app: 'worker', env });
    clients = connect(front.address);
  }, 60_000);
  afterAll(async () => {
    clients?.close();
    await worker?.stop();
    await front?.stop();
    await receiver?.close();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, keyPrefix);
    await db?.drop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it('follows a job from the Enqueue call through a retry to the run of its next worker, in one trace', async () => {
    expect(front.output()).toContain(`jobworkerp traces sent to ${receiver.url}/v1/traces`);
    const create = async (data: Parameters<typeof commandWorkerData>): Promise<number> =>
      (await call(clients.worker, 'create', commandWorkerData(...data))).id!.value;
    const second = await create(['trace-second', 'echo', { responseType: ResponseType.NO_RESULT }]);
    const first = await create([
      'trace-first',
      'sh',
      {
        responseType: ResponseType.NO_RESULT,
        nextWorkers: [{ value: second }],
        retryPolicy: constantRetry(100, 2),
        storeFailure: true,
      },
    ]);
    // fails on its first run (exit 1: retried), succeeds on the second with the next worker's args
    const mark = join(scratch, 'ran-once');
    const script = `if [ -e ${mark} ]; then ${printArgs('chained')}; else touch ${mark}; exit 1; fi`;
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
    metadata.set('tracestate', 'client=1');
    const { id } = await call(
      clients.job,
      'enqueue',
      { workerId: { value: first }, args: commandArgs('-c', script) },
      metadata,
    );
    const jobId = id!.value;

    const spans = await receiver.waitFor(
      'the Enqueue span, two runs of the first job, the run of the next job and their finishing spans',
      (all) =>
        all.some((s) => s.kind === SERVER) &&
        runsOf(all, 'trace-first').length >= 2 &&
        runsOf(all, 'trace-second').length >= 1 &&
        all.filter((s) => s.name === 'finish job').length >= 3,
    );
    expect(existsSync(mark)).toBe(true);
    expect(receiver.refused).toBe(0);

    const enqueue = spans.find((s) => s.kind === SERVER)!;
    expect(enqueue).toMatchObject({
      serviceName: 'jobworkerp-grpc-front',
      name: 'jobworkerp.service.JobService/Enqueue',
      traceId: CLIENT_TRACE,
      parentSpanId: CLIENT_SPAN,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.method': 'Enqueue',
        'rpc.grpc.status_code': 0,
        'jobworkerp.job.id': jobId,
        'jobworkerp.worker.name': 'trace-first',
      },
    });
    // every span of the job and of its next job is in the client's trace
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([CLIENT_TRACE]));

    const [failed, succeeded, ...more] = runsOf(spans, 'trace-first');
    expect(more).toEqual([]);
    const common = {
      serviceName: 'jobworkerp-worker',
      name: `process ${DEFAULT_CHANNEL}`,
      parentSpanId: enqueue.spanId,
    };
    expect(failed).toMatchObject({
      ...common,
      statusCode: ERROR,
      attributes: {
        'jobworkerp.job.id': jobId,
        'jobworkerp.job.attempt': 1,
        'jobworkerp.runner.type': 'COMMAND',
        'messaging.destination.name': DEFAULT_CHANNEL,
        'jobworkerp.result.status': 'ERROR_AND_RETRY',
      },
    });
    // the retry came back from its MariaDB row still in the job's trace, under the same Enqueue span
    expect(succeeded).toMatchObject({
      ...common,
      attributes: { 'jobworkerp.job.id': jobId, 'jobworkerp.job.attempt': 2, 'jobworkerp.result.status': 'SUCCESS' },
    });
    expect(succeeded!.statusCode).not.toBe(ERROR);

    // the next job's run is a child of the run that made it
    const [next] = runsOf(spans, 'trace-second');
    expect(next).toMatchObject({
      serviceName: 'jobworkerp-worker',
      parentSpanId: succeeded!.spanId,
      attributes: { 'jobworkerp.job.attempt': 1, 'jobworkerp.result.status': 'SUCCESS' },
    });
    expect(next!.attributes['jobworkerp.job.id']).not.toBe(jobId);

    // each run's finishing (storing, publishing, next_workers) is a child of that run
    const finishes = spans.filter((s) => s.name === 'finish job');
    expect(finishes.map((s) => s.parentSpanId).sort()).toEqual(
      [failed!.spanId, succeeded!.spanId, next!.spanId].sort(),
    );
    expect(finishes.find((s) => s.parentSpanId === failed!.spanId)?.attributes['jobworkerp.job.outcome']).toBe('retry');
  });
});

describe('traces on Standalone (all-in-one)', () => {
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  let clients: Clients;
  let batch: JobBatchServiceClient;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    server = await startServer({ env: { OTLP_ADDR: receiver.url, OTEL_SERVICE_NAME: 'jobs-standalone' } });
    clients = connect(server.address);
    batch = new JobBatchServiceClient(server.address, credentials.createInsecure());
  }, 60_000);
  afterAll(async () => {
    batch?.close();
    clients?.close();
    await server?.stop();
    await receiver?.close();
  });

  it('makes an EnqueueBatch call the parent of its jobs runs, and starts a trace when the caller has none', async () => {
    const workerId = (
      await call(
        clients.worker,
        'create',
        commandWorkerData('trace-batch', 'echo', { responseType: ResponseType.NO_RESULT }),
      )
    ).id!.value;
    const jobs: JobRequest[] = ['a', 'b'].map((word) => ({ workerId: { value: workerId }, args: commandArgs(word) }));
    const outcomes = await new Promise<EnqueueOutcome[]>((resolve, reject) =>
      batch.enqueueBatch({ jobs }, (err, res) => (err === null ? resolve(res.outcomes) : reject(err))),
    );
    const ids = outcomes.map((o) => o.id!.value);

    const spans = await receiver.waitFor(
      'the EnqueueBatch span and both runs',
      (all) => all.some((s) => s.kind === SERVER) && runsOf(all, 'trace-batch').length >= 2,
    );
    const call_ = spans.find((s) => s.kind === SERVER)!;
    expect(call_).toMatchObject({
      serviceName: 'jobs-standalone',
      name: 'jobworkerp.ext.JobBatchService/EnqueueBatch',
      parentSpanId: '',
      attributes: { 'jobworkerp.batch.jobs': 2, 'jobworkerp.batch.refused': 0 },
    });
    const runs = runsOf(spans, 'trace-batch');
    expect(runs.map((r) => r.attributes['jobworkerp.job.id']).sort()).toEqual([...ids].sort());
    for (const run of runs) {
      expect(run).toMatchObject({ traceId: call_.traceId, parentSpanId: call_.spanId, serviceName: 'jobs-standalone' });
    }
  });

  it("makes an EnqueueStream call, continuing the caller's trace, the parent of its jobs runs", async () => {
    await call(
      clients.worker,
      'create',
      commandWorkerData('trace-stream', 'echo', { responseType: ResponseType.NO_RESULT }),
    );
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
    const stream = batch.enqueueStream(metadata);
    const outcomes = collect<EnqueueOutcome>(stream);
    stream.write({ workerName: 'trace-stream', args: commandArgs('streamed') });
    stream.end();
    const [outcome] = await outcomes;
    expect(outcome?.error).toBeUndefined();
    const spans = await receiver.waitFor(
      'the EnqueueStream span, ended with its stream, and the run of its job',
      (all) =>
        all.some((s) => s.name === 'jobworkerp.ext.JobBatchService/EnqueueStream') &&
        all.some((s) => s.kind === CONSUMER && s.attributes['jobworkerp.job.id'] === outcome?.id?.value),
    );
    const streamSpan = spans.find((s) => s.name === 'jobworkerp.ext.JobBatchService/EnqueueStream')!;
    expect(streamSpan).toMatchObject({ kind: SERVER, traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN });
    const run = spans.find((s) => s.kind === CONSUMER && s.attributes['jobworkerp.job.id'] === outcome?.id?.value);
    expect(run).toMatchObject({
      traceId: CLIENT_TRACE,
      parentSpanId: streamSpan.spanId,
    });
  });

  it('marks the span of a refused Enqueue as an error with the status the caller got', async () => {
    const err = await grpcError(call(clients.job, 'enqueue', { workerName: 'nobody', args: Buffer.alloc(0) }));
    expect(err.code).toBe(status.NOT_FOUND);
    const spans = await receiver.waitFor('the span of the refused call', (all) =>
      all.some((s) => s.name === 'jobworkerp.service.JobService/Enqueue'),
    );
    expect(spans.find((s) => s.name === 'jobworkerp.service.JobService/Enqueue')).toMatchObject({
      kind: SERVER,
      statusCode: ERROR,
      statusMessage: err.details,
      attributes: { 'rpc.grpc.status_code': status.NOT_FOUND },
    });
  });
});
