/**
 * The Node client library (libs/client, exported as jobworkerp-ts/client) against a real all-in-one: typed calls,
 * JSON ↔ protobuf through the runners' schemas, auth and deadlines.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  JobStatus,
  JobworkerpClient,
  ResponseType,
  ResultStatus,
  StatusError,
} from '../../libs/client/src/index.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';

const TOKEN = 'client-lib-secret';

describe('JobworkerpClient against a real all-in-one', () => {
  let server: ServerProcess;
  let secured: ServerProcess;
  let client: JobworkerpClient;

  beforeAll(async () => {
    [server, secured] = await Promise.all([startServer(), startServer({ env: { AUTH_TOKEN: TOKEN } })]);
    client = new JobworkerpClient({ address: `http://${server.address}`, timeoutMs: 20_000 });
  });
  afterAll(async () => {
    client?.close();
    await Promise.all([server?.stop(), secured?.stop()]);
  });

  it('creates a worker from JSON settings and runs a DIRECT job with JSON args, decoding the result', async () => {
    const id = await client.workers.create({
      name: 'echo',
      runner: 'COMMAND',
      settings: { name: 'echo' },
      storeSuccess: true,
    });
    const found = await client.workers.findByName('echo');
    expect(found?.id?.value).toBe(id);
    expect(found?.data?.responseType).toBe(ResponseType.DIRECT);

    const { jobId, result } = await client.jobs.enqueue({ worker: 'echo', args: { args: ['hi', 'there'] } });
    expect(jobId).toBeGreaterThan(0);
    expect(result?.data?.status).toBe(ResultStatus.SUCCESS);
    const decoded = await client.results.decode(result!);
    expect(decoded.output).toEqual(['hi there\n']);
    expect(decoded.args).toEqual({ args: ['hi', 'there'] });

    const stored = await client.results.listByJobId(jobId);
    expect(stored.map((r) => r.data?.jobId?.value)).toEqual([jobId]);
    expect(await client.workers.count()).toBeGreaterThanOrEqual(1);
    expect((await client.runners.list()).map((r) => r.data?.name)).toContain('HTTP_REQUEST');
  });

  it('rejects args the schema does not fit before sending, and names what does not exist', async () => {
    await expect(client.jobs.enqueue({ worker: 'echo', args: { argz: [] } })).rejects.toThrow(InvalidInputError);
    await expect(client.jobs.enqueue({ worker: 'echo', args: { argz: [] } })).rejects.toThrow(
      /CommandArgs has no field "argz"/,
    );
    await expect(client.jobs.enqueue({ worker: 'nobody' })).rejects.toMatchObject({
      constructor: StatusError,
      code: 'NOT_FOUND',
    });
  });

  it('listens for a LISTEN_AFTER result, after which decoding it needs no further call', async () => {
    await client.workers.create({
      name: 'later',
      runner: 1,
      settings: { name: 'echo' },
      responseType: ResponseType.LISTEN_AFTER,
      storeSuccess: true,
      storeFailure: true,
    });
    // a client of its own, which looked nothing up before
    const own = new JobworkerpClient({ address: server.address });
    try {
      const { jobId, result } = await own.jobs.enqueue({ worker: 'later', args: { args: ['later'] } });
      expect(result).toBeUndefined();
      const listened = await own.results.listen({ jobId, worker: 'later', timeoutMs: 20_000 });
      own.close(); // as a server going away right after sending the result would
      const decoded = await own.results.decode(listened);
      expect(decoded.output).toEqual(['later\n']);
    } finally {
      own.close();
    }
  });

  it('reports job status, and cancels a pending job', async () => {
    await client.workers.create({
      name: 'slow',
      runner: 'COMMAND',
      settings: { name: 'sleep' },
      responseType: ResponseType.NO_RESULT,
    });
    const { jobId } = await client.jobs.enqueue({
      worker: 'slow',
      args: { args: ['30'] },
      runAfterTime: Date.now() + 60_000,
    });
    expect(await client.status.find(jobId)).toBe(JobStatus.PENDING);
    expect((await client.status.list()).map((s) => s.jobId)).toContain(jobId);
    expect(await client.jobs.delete(jobId)).toBe(true);
  });

  it('gives each call its deadline', async () => {
    await client.workers.create({
      name: 'sleeper',
      runner: 'COMMAND',
      settings: { name: 'sleep' },
      responseType: ResponseType.LISTEN_AFTER,
      storeSuccess: true,
      storeFailure: true,
    });
    const { jobId } = await client.jobs.enqueue({
      worker: 'sleeper',
      args: { args: ['30'] },
      runAfterTime: Date.now() + 60_000,
    });
    const hurried = new JobworkerpClient({ address: server.address, timeoutMs: 300, connectTimeoutMs: 10_000 });
    try {
      await hurried.workers.count(); // connected within the deadline
      await expect(hurried.results.listen({ jobId, worker: 'sleeper' })).rejects.toMatchObject({
        code: status.DEADLINE_EXCEEDED,
      });
    } finally {
      hurried.close();
      await client.jobs.delete(jobId);
    }
  });

  it('sends the auth token, and without it the server refuses', async () => {
    const without = new JobworkerpClient({ address: secured.address });
    const withToken = new JobworkerpClient({ address: secured.address, authToken: TOKEN });
    try {
      await expect(without.runners.count()).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      expect(await withToken.runners.count()).toBeGreaterThan(0);
    } finally {
      without.close();
      withToken.close();
    }
  });
});

describe('JobworkerpClient lookups in a long-lived client', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sees a worker deleted and created again under its name, by this client or after lookupTtlMs', async () => {
    const client = new JobworkerpClient({ address: server.address, lookupTtlMs: 200 });
    const other = new JobworkerpClient({ address: server.address });
    try {
      const spec = { name: 'again', runner: 'COMMAND', settings: { name: 'echo' } } as const;
      const first = await client.workers.create(spec);
      expect((await client.jobs.enqueue({ worker: 'again', args: { args: ['1'] } })).result?.data?.status).toBe(
        ResultStatus.SUCCESS,
      );
      // changed by this client: its lookups are dropped at once
      expect(await client.workers.delete(first)).toBe(true);
      expect(await client.workers.find(first)).toBeUndefined();
      const second = await client.workers.create(spec);
      const { result } = await client.jobs.enqueue({ worker: 'again', args: { args: ['2'] } });
      expect(result?.data?.workerId?.value).toBe(second);
      // changed by another client: seen once lookupTtlMs has passed
      expect(await other.workers.delete(second)).toBe(true);
      const third = await other.workers.create(spec);
      await new Promise((r) => setTimeout(r, 300));
      const again = await client.jobs.enqueue({ worker: 'again', args: { args: ['3'] } });
      expect(again.result?.data?.workerId?.value).toBe(third);
    } finally {
      client.close();
      other.close();
    }
  });
});
