/**
 * HTTP_REQUEST and GRPC_UNARY runners end to end: a real all-in-one process calling real local peers (a node:http
 * server and a @grpc/grpc-js server with raw-bytes methods). Timing checks are behaviour bounds with slack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition } from '@grpc/grpc-js';
import { Server as GrpcServer, ServerCredentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../libs/proto/src/index.js';
import {
  GrpcUnaryArgs,
  GrpcUnaryRunnerSettings,
  HttpRequestArgs,
  HttpRequestResult,
  HttpRequestRunnerSettings,
  ResponseType,
  ResultStatus,
} from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import { listenOnLoopback } from '../support/http-listen.js';
import { rawUnaryMethod } from '../support/raw-grpc.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { constantRetry, NO_RETRY, workerData } from '../support/worker-data.js';

const RESPONSE_MAX_BYTES = 4096;
const TWO_RETRIES = constantRetry(50, 2);

const statusOf = (r: JobResult | undefined): ResultStatus | undefined => r?.data?.status;
const item = (r: JobResult | undefined, i: number): Uint8Array => r?.data?.output?.items[i] ?? new Uint8Array();
const text = (r: JobResult | undefined, i = 0): string => Buffer.from(item(r, i)).toString();

/** What the HTTP peer saw of each request, by path. */
interface HttpSeen {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** resolves true when the client went away before the response was finished */
  readonly aborted: Promise<boolean>;
}

async function startHttpPeer(): Promise<{ port: number; seen: HttpSeen[]; close(): Promise<void> }> {
  const seen: HttpSeen[] = [];
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/ok': (res) => res.setHeader('x-peer', 'yes').end(JSON.stringify({ hello: 'world' })),
    '/busy': (res) => res.writeHead(503).end('try again later'),
    '/missing': (res) => res.writeHead(404).end('no such resource'),
    '/big': (res) => res.end('z'.repeat(RESPONSE_MAX_BYTES * 4)),
    '/hang': () => undefined,
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const aborted = new Promise<boolean>((resolve) => res.on('close', () => resolve(!res.writableFinished)));
      seen.push({ method: req.method ?? '', url, headers: req.headers, body, aborted });
      (routes[url.pathname] ?? ((r: ServerResponse) => r.writeHead(500).end()))(res);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { port, seen, close };
}

/** Calls the gRPC peer saw, by method name, and how the Sleep calls ended. */
interface GrpcPeer {
  readonly port: number;
  readonly calls: string[];
  readonly sleepCancelled: Promise<void>;
  close(): void;
}

async function startGrpcPeer(): Promise<GrpcPeer> {
  const calls: string[] = [];
  let cancelled!: () => void;
  const sleepCancelled = new Promise<void>((resolve) => (cancelled = resolve));
  type Handler = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void;
  const handlers: Record<string, Handler> = {
    Echo: (c, callback) => callback(null, Buffer.concat([Buffer.from('echo:'), c.request])),
    Unavailable: (_c, callback) => callback({ code: status.UNAVAILABLE, details: 'warming up' }),
    Invalid: (_c, callback) => callback({ code: status.INVALID_ARGUMENT, details: 'field x is required' }),
    Sleep: (c) => c.on('cancelled', cancelled),
  };
  const definition: ServiceDefinition = Object.fromEntries(
    Object.keys(handlers).map((name) => [name, rawUnaryMethod(`/e2e.Raw/${name}`)]),
  );
  const implementation = Object.fromEntries(
    Object.entries(handlers).map(([name, handler]): [string, Handler] => [
      name,
      (c, callback) => {
        calls.push(name);
        handler(c, callback);
      },
    ]),
  );
  const server = new GrpcServer();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    ),
  );
  return { port, calls, sleepCancelled, close: () => server.forceShutdown() };
}

describe('HTTP_REQUEST and GRPC_UNARY runners through the all-in-one', () => {
  let server: ServerProcess;
  let c: Clients;
  let http: Awaited<ReturnType<typeof startHttpPeer>>;
  let grpc: GrpcPeer;
  let seq = 0;

  const createWorker = async (runnerId: number, settings: Uint8Array, retryPolicy = NO_RETRY): Promise<number> => {
    seq += 1;
    const data = workerData({
      name: `runner-e2e-${runnerId}-${seq}`,
      runnerId: { value: runnerId },
      runnerSettings: Buffer.from(settings),
      retryPolicy,
      responseType: ResponseType.DIRECT,
      storeSuccess: true,
      storeFailure: true,
    });
    return (await call(c.worker, 'create', data)).id!.value;
  };
  const enqueue = async (workerId: number, args: Uint8Array, timeout?: number): Promise<JobResult | undefined> =>
    (await call(c.job, 'enqueue', { workerId: { value: workerId }, args: Buffer.from(args), timeout })).result;

  const httpWorker = (retryPolicy = NO_RETRY): Promise<number> => {
    const settings = HttpRequestRunnerSettings.encode(
      HttpRequestRunnerSettings.fromPartial({ baseUrl: `http://127.0.0.1:${http.port}` }),
    ).finish();
    return createWorker(2, settings, retryPolicy);
  };
  const httpArgs = (path: string, extra: Partial<HttpRequestArgs> = {}): Uint8Array =>
    HttpRequestArgs.encode({ headers: [], method: 'GET', path, queries: [], ...extra }).finish();
  const grpcWorker = (retryPolicy = NO_RETRY): Promise<number> =>
    createWorker(3, GrpcUnaryRunnerSettings.encode({ host: '127.0.0.1', port: grpc.port }).finish(), retryPolicy);
  const grpcArgs = (method: string, request = 'ping'): Uint8Array =>
    GrpcUnaryArgs.encode({ path: `/e2e.Raw/${method}`, request: Buffer.from(request) }).finish();
  const seenAt = (path: string): HttpSeen[] => http.seen.filter((s) => s.url.pathname === path);

  beforeAll(async () => {
    http = await startHttpPeer();
    grpc = await startGrpcPeer();
    server = await startServer({
      env: { RESPONSE_MAX_BYTES: String(RESPONSE_MAX_BYTES), WORKER_DEFAULT_CONCURRENCY: '4' },
    });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    await http?.close();
    grpc?.close();
  });

  describe('HTTP_REQUEST', () => {
    it('sends the request and returns status, headers and body as HttpRequestResult', async () => {
      const w = await httpWorker();
      const res = await enqueue(
        w,
        httpArgs('/ok', {
          method: 'post',
          headers: [{ key: 'authorization', value: 'Bearer abc' }],
          queries: [{ key: 'page', value: '2' }],
          body: 'payload',
        }),
      );
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      const result = HttpRequestResult.decode(item(res, 0));
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.content)).toEqual({ hello: 'world' });
      expect(result.headers).toContainEqual({ key: 'x-peer', value: 'yes' });
      const [seen] = seenAt('/ok');
      expect(seen).toMatchObject({ method: 'POST', body: 'payload' });
      expect(seen!.url.searchParams.get('page')).toBe('2');
      expect(seen!.headers.authorization).toBe('Bearer abc');
    });

    it('retries a 5xx by the worker policy and ends with MAX_RETRY, keeping the body', async () => {
      const w = await httpWorker(TWO_RETRIES);
      const res = await enqueue(w, httpArgs('/busy'));
      expect(seenAt('/busy')).toHaveLength(3);
      expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
      expect(res?.data?.retried).toBe(2);
      expect(text(res, 0)).toMatch(/answered HTTP 503/);
      expect(HttpRequestResult.decode(item(res, 1))).toMatchObject({ statusCode: 503, content: 'try again later' });
    });

    it('fails a 4xx as FATAL_ERROR without retrying', async () => {
      const w = await httpWorker(TWO_RETRIES);
      const res = await enqueue(w, httpArgs('/missing'));
      expect(statusOf(res)).toBe(ResultStatus.FATAL_ERROR);
      expect(seenAt('/missing')).toHaveLength(1);
      expect(text(res, 0)).toMatch(/answered HTTP 404/);
      expect(HttpRequestResult.decode(item(res, 1)).content).toBe('no such resource');
    });

    it('fails a body over RESPONSE_MAX_BYTES as FATAL_ERROR', async () => {
      const res = await enqueue(await httpWorker(), httpArgs('/big'));
      expect(statusOf(res)).toBe(ResultStatus.FATAL_ERROR);
      expect(text(res, 0)).toMatch(`response exceeded ${RESPONSE_MAX_BYTES} bytes (RESPONSE_MAX_BYTES)`);
    });

    it('aborts the request at the job timeout', async () => {
      const w = await httpWorker();
      const started = Date.now();
      const res = await enqueue(w, httpArgs('/hang'), 200);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
      expect(text(res, 0)).toMatch(/timed out after 200 ms/);
      const [seen] = seenAt('/hang');
      expect(await seen!.aborted).toBe(true);
    });
  });

  describe('GRPC_UNARY', () => {
    it('calls the method with the raw request and returns the raw response', async () => {
      const res = await enqueue(await grpcWorker(), grpcArgs('Echo', 'hello'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(text(res, 0)).toBe('echo:hello');
    });

    it('retries UNAVAILABLE by the worker policy and ends with MAX_RETRY', async () => {
      const res = await enqueue(await grpcWorker(TWO_RETRIES), grpcArgs('Unavailable'));
      expect(grpc.calls.filter((name) => name === 'Unavailable')).toHaveLength(3);
      expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
      expect(text(res, 0)).toMatch(/UNAVAILABLE \(14\): warming up/);
    });

    it('fails a non-retryable status as FATAL_ERROR with its message, without retrying', async () => {
      const res = await enqueue(await grpcWorker(TWO_RETRIES), grpcArgs('Invalid'));
      expect(statusOf(res)).toBe(ResultStatus.FATAL_ERROR);
      expect(grpc.calls.filter((name) => name === 'Invalid')).toHaveLength(1);
      expect(text(res, 0)).toMatch(/INVALID_ARGUMENT \(3\): field x is required/);
    });

    it('ends the call at the job timeout', async () => {
      const w = await grpcWorker();
      const started = Date.now();
      const res = await enqueue(w, grpcArgs('Sleep'), 200);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
      await grpc.sleepCancelled;
    });
  });
});
