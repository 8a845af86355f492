/**
 * The client library's batched enqueue against a real all-in-one: concurrent jobs.enqueue calls share one
 * JobBatchService/EnqueueStream and each gets its own outcome, refusals are the errors of a unary Enqueue, DIRECT
 * workers still go through unary Enqueue, enqueueBatch answers in order, and a server that goes away mid-stream
 * fails the calls waiting on it with a retriable error, after which the next call opens a new stream.
 */
import type { sendUnaryData, ServerUnaryCall, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EnqueueResponse } from '../../libs/client/src/index.js';
import {
  InvalidInputError,
  JobworkerpClient,
  Priority,
  ResponseType,
  ResultStatus,
  StatusError,
} from '../../libs/client/src/index.js';
import type { CreateJobResponse, JobRequest, WorkerId } from '../../libs/proto/src/index.js';
import { JobServiceService, OptionalWorkerResponse, WorkerServiceService } from '../../libs/proto/src/index.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const HOUR_MS = 3_600_000;

/** The error of a promise that must reject. */
async function rejection(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected a rejection');
}

describe('JobworkerpClient batched enqueue against a real all-in-one', () => {
  let server: ServerProcess;
  let client: JobworkerpClient;
  let unaryOnly: JobworkerpClient;

  beforeAll(async () => {
    server = await startServer();
    client = new JobworkerpClient({ address: server.address, timeoutMs: 60_000 });
    unaryOnly = new JobworkerpClient({ address: server.address, enqueueStream: false });
    await client.workers.create({
      name: 'later',
      runner: 'COMMAND',
      settings: { name: 'echo' },
      responseType: ResponseType.NO_RESULT,
    });
    await client.workers.create({ name: 'direct', runner: 'COMMAND', settings: { name: 'echo' } });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    unaryOnly?.close();
    await server?.stop();
  });

  it('sends many concurrent enqueues over one stream, each answered with the id of its own job', async () => {
    const streams = vi.spyOn(client.conn.jobBatch, 'enqueueStream');
    const unary = vi.spyOn(client.conn.job, 'enqueue');
    const total = 1500;
    const runAfterTime = Date.now() + HOUR_MS; // they wait, so each job's args can be read back
    const calls = Array.from({ length: total }, (_, i) =>
      client.jobs.enqueue({ worker: 'later', args: { args: [`job-${i}`] }, runAfterTime }),
    );
    const ids = (await Promise.all(calls)).map((r) => r.jobId);
    expect(new Set(ids).size).toBe(total);
    expect(streams).toHaveBeenCalledTimes(1);
    expect(unary).not.toHaveBeenCalled();

    // every call got the id of the job it sent, not a neighbour's
    const jobs = await client.jobs.list({ limit: 10_000 });
    const argsById = new Map(jobs.map((j) => [j.id?.value, Buffer.from(j.data?.args ?? []).toString('utf8')]));
    ids.forEach((id, i) => expect(argsById.get(id), `call ${i}`).toContain(`job-${i}`));
    for (const id of ids) expect(await client.jobs.delete(id)).toBe(true);
    streams.mockRestore();
    unary.mockRestore();
  }, 120_000);

  it('rejects a refused job with the error a unary Enqueue gives, without disturbing the others', async () => {
    const bad = { worker: 'later', args: { args: ['x'] }, priority: 42 as Priority };
    const taken = {
      worker: 'later',
      args: { args: ['x'] },
      uniqKey: `k-${Date.now()}`,
      runAfterTime: Date.now() + HOUR_MS,
    };
    const results = await Promise.allSettled([
      client.jobs.enqueue({ worker: 'later', args: { args: ['a'] } }),
      client.jobs.enqueue(bad),
      client.jobs.enqueue(taken),
      client.jobs.enqueue(taken),
      client.jobs.enqueue({ worker: 'later', args: { args: ['b'] } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const [viaStream, duplicate] = [results[1], results[3]].map(
      (r) => (r as PromiseRejectedResult).reason as ServiceError,
    );
    const viaUnary = await rejection(unaryOnly.jobs.enqueue(bad));
    expect(viaStream).toMatchObject({ code: viaUnary.code, details: viaUnary.details, message: viaUnary.message });
    expect(viaStream?.code).toBe(status.INVALID_ARGUMENT);
    expect(duplicate?.code).toBe(status.ALREADY_EXISTS);
    expect(await client.jobs.delete((results[2] as PromiseFulfilledResult<EnqueueResponse>).value.jobId)).toBe(true);
  });

  it('sends the jobs of a DIRECT worker through unary Enqueue and returns their result', async () => {
    const unary = vi.spyOn(client.conn.job, 'enqueue');
    const { result } = await client.jobs.enqueue({ worker: 'direct', args: { args: ['straight'] } });
    expect(unary).toHaveBeenCalledTimes(1);
    expect(result?.data?.status).toBe(ResultStatus.SUCCESS);
    unary.mockRestore();
  });

  it('enqueueBatch answers one settled outcome per job, in order', async () => {
    const batch = vi.spyOn(client.conn.jobBatch, 'enqueueBatch');
    const runAfterTime = Date.now() + HOUR_MS;
    const outcomes = await client.jobs.enqueueBatch([
      { worker: 'later', args: { args: ['one'] }, runAfterTime },
      { worker: 'nobody', args: { args: [] } },
      { worker: 'later', args: { argz: [] } },
      { worker: 'direct', args: { args: ['now'] } },
      { worker: 'later', args: { args: ['x'] }, priority: 42 as Priority },
      { worker: 'later', args: { args: ['two'] }, runAfterTime, priority: Priority.PRIORITY_HIGH },
    ]);
    expect(batch).toHaveBeenCalledTimes(1);
    batch.mockRestore();
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const reason = (i: number): unknown => (outcomes[i] as PromiseRejectedResult).reason;
    const value = (i: number): EnqueueResponse => (outcomes[i] as PromiseFulfilledResult<EnqueueResponse>).value;
    expect(reason(1)).toMatchObject({ constructor: StatusError, code: 'NOT_FOUND' });
    expect(reason(2)).toBeInstanceOf(InvalidInputError);
    expect(reason(4)).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/priority 42/) });
    expect(value(3).result?.data?.status).toBe(ResultStatus.SUCCESS);
    for (const i of [0, 5]) {
      const job = await client.jobs.find(value(i).jobId);
      expect(Buffer.from(job?.data?.args ?? []).toString()).toContain(i === 0 ? 'one' : 'two');
      expect(await client.jobs.delete(value(i).jobId)).toBe(true);
    }
  });

  it('refuses enqueues after close, and lets the ones in flight finish', async () => {
    const own = new JobworkerpClient({ address: server.address });
    await own.jobs.enqueue({ worker: 'later', args: { args: ['warm'] } }); // the worker looked up, the stream open
    const calls = Array.from({ length: 200 }, (_, i) =>
      own.jobs.enqueue({ worker: 'later', args: { args: [`c${i}`] } }),
    );
    await sleep(0); // the lookups are cached: every call wrote its request by now
    own.close();
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(200);
    await expect(own.jobs.enqueue({ worker: 1, args: new Uint8Array() })).rejects.toThrow(/closed/);
  });
});

describe('JobworkerpClient batched enqueue when the server goes away mid-stream', () => {
  let first: ServerProcess;
  let second: ServerProcess | undefined;

  beforeAll(async () => {
    first = await startServer();
  });
  afterAll(async () => {
    await second?.stop(); // first, as it shares the data folder that stopping `first` removes
    first?.child.kill('SIGCONT');
    await first?.stop();
  });

  it('fails every call waiting on the stream with a retriable UNAVAILABLE, then opens a new stream', async () => {
    const client = new JobworkerpClient({ address: first.address });
    const streams = vi.spyOn(client.conn.jobBatch, 'enqueueStream');
    try {
      await client.workers.create({
        name: 'later',
        runner: 'COMMAND',
        settings: { name: 'echo' },
        responseType: ResponseType.NO_RESULT,
      });
      const workerId = (await client.workers.resolve('later')).id.value;
      await client.jobs.enqueue({ worker: workerId, args: { args: ['warm'] } });
      const hurried = new JobworkerpClient({ address: first.address, timeoutMs: 300 });
      await hurried.jobs.enqueue({ worker: workerId, args: { args: ['warm'] } });

      // the server stops answering with requests on the wire, then dies
      first.child.kill('SIGSTOP');
      // a call with a deadline gives up on its own
      const late = await rejection(hurried.jobs.enqueue({ worker: workerId, args: { args: ['late'] } }));
      expect(late).toMatchObject({
        code: status.DEADLINE_EXCEEDED,
        details: expect.stringMatching(/no outcome within 300 ms/),
      });
      hurried.close();
      const calls = Array.from({ length: 300 }, (_, i) =>
        client.jobs.enqueue({ worker: workerId, args: { args: [`${i}`] } }),
      );
      const settled = Promise.allSettled(calls);
      await sleep(300);
      first.child.kill('SIGKILL');
      const outcomes = await settled;
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      for (const o of outcomes) {
        const err = (o as PromiseRejectedResult).reason as ServiceError;
        expect(err.code).toBe(status.UNAVAILABLE);
        expect(err.details).toMatch(/enqueue stream broke before this job's outcome came .*may or may not be enqueued/);
      }

      // the same address again, with the same data: a retry opens a new stream
      second = await startServer({ env: { GRPC_ADDR: `127.0.0.1:${first.port}` }, dataDir: first.dataDir });
      let jobId: number | undefined;
      for (let attempt = 0; jobId === undefined; attempt++) {
        try {
          jobId = (await client.jobs.enqueue({ worker: workerId, args: { args: ['again'] } })).jobId;
        } catch (err) {
          // the channel may still be backing off from the lost connection: retry as a caller would
          if ((err as ServiceError).code !== status.UNAVAILABLE || attempt > 50) throw err;
          await sleep(200);
        }
      }
      expect(jobId).toBeGreaterThan(0);
      expect(streams.mock.calls.length).toBeGreaterThanOrEqual(2);
    } finally {
      client.close();
    }
  }, 120_000);
});

describe('JobworkerpClient enqueue on a server without the batch extension', () => {
  const WORKER = {
    id: { value: 5 },
    data: { name: 'w', responseType: ResponseType.NO_RESULT, runnerId: { value: 1 } },
  };
  let server: Server;
  let address: string;
  const received: JobRequest[] = [];

  beforeAll(async () => {
    // the upstream services only (as jobworkerp-rs): JobBatchService answers UNIMPLEMENTED
    server = new Server();
    const find = (
      _: ServerUnaryCall<WorkerId, OptionalWorkerResponse>,
      cb: sendUnaryData<OptionalWorkerResponse>,
    ): void => cb(null, OptionalWorkerResponse.fromPartial({ data: WORKER }));
    const enqueue = (
      call: ServerUnaryCall<JobRequest, CreateJobResponse>,
      cb: sendUnaryData<CreateJobResponse>,
    ): void => {
      received.push(call.request);
      cb(null, { id: { value: 1000 + received.length }, result: undefined });
    };
    server.addService(WorkerServiceService, { find } as UntypedServiceImplementation);
    server.addService(JobServiceService, { enqueue } as UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    server?.forceShutdown();
  });

  it('sends the jobs through unary Enqueue, the first ones included, each once', async () => {
    const client = new JobworkerpClient({ address });
    try {
      const bytes = (i: number): Uint8Array => Buffer.from(`job-${i}`);
      const first = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.jobs.enqueue({ worker: 5, args: bytes(i) })),
      );
      const batch = await client.jobs.enqueueBatch([
        { worker: 5, args: bytes(20) },
        { worker: 5, args: bytes(21) },
      ]);
      expect(first.map((r) => r.jobId).every((id) => id > 1000)).toBe(true);
      expect(batch.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(received.map((r) => Buffer.from(r.args).toString()).sort()).toEqual(
        Array.from({ length: 22 }, (_, i) => `job-${i}`).sort(),
      );
    } finally {
      client.close();
    }
  });
});

describe('JobworkerpClient abort signal', () => {
  it('takes many concurrent calls without a MaxListenersExceededWarning, and cancels them all on abort', async () => {
    const server = await startServer();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const abort = new AbortController();
    const client = new JobworkerpClient({ address: server.address, signal: abort.signal });
    try {
      expect((await Promise.all(Array.from({ length: 30 }, () => client.runners.count()))).every((n) => n > 0)).toBe(
        true,
      );
      const worker = await client.workers.create({
        name: 'later',
        runner: 'COMMAND',
        settings: { name: 'echo' },
        responseType: ResponseType.LISTEN_AFTER,
        storeSuccess: true,
        storeFailure: true,
      });
      const { jobId } = await client.jobs.enqueue({
        worker,
        args: { args: ['x'] },
        runAfterTime: Date.now() + HOUR_MS,
      });
      const listens = Array.from({ length: 15 }, () => client.results.listen({ jobId, worker }));
      await sleep(300);
      abort.abort();
      for (const l of listens) await expect(l).rejects.toMatchObject({ code: status.CANCELLED });
      await sleep(50);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      client.close();
      await server.stop();
    }
  }, 60_000);
});
