/**
 * The gRPC-Web/JSON gateway in front of a real GrpcServer (auth on) over its loopback channel: status codes and
 * messages as HTTP, gRPC-Web text split mid-stream, a stream the HTTP client abandons is cancelled on the gRPC side,
 * and a stop lets calls in flight finish while refusing new ones.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotFoundError, silentLogger, UnavailableError } from '../../../core/src/index.js';
import type { Runner, RunnerId } from '../../../proto/src/index.js';
import { RunnerServiceService, RunnerType } from '../../../proto/src/index.js';
import { GrpcServer } from '../grpc-server.js';
import { serverStream, unary } from '../handlers.js';
import type { GrpcWebGateway } from './grpc-web-gateway.js';
import { gatewayServices, startGrpcWebGateway } from './grpc-web-gateway.js';

const TOKEN = 'gateway-test-token';
const logger = silentLogger;

const runner = (id: number): Runner => ({
  id: { value: id },
  data: {
    name: `R${id}`,
    description: '',
    runnerType: RunnerType.COMMAND,
    runnerSettingsProto: '',
    jobArgsProto: '',
    resultOutputProto: '',
  } as Runner['data'],
});

/** what the RunnerService double was asked, for the tests to wait on */
let held: { release(): void; started: Promise<void> } | undefined;
let streamCancelled: Promise<void>;
let markStreamCancelled: () => void;

function runnerServiceDouble(): UntypedServiceImplementation {
  return {
    count: unary('RunnerService/Count', logger, async () => ({ total: 7 })),
    find: unary('RunnerService/Find', logger, async (req: RunnerId) => {
      switch (req.value) {
        case 1:
          throw new NotFoundError('runner 1 does not exist');
        case 2:
          throw new InvalidArgumentError('runner id 2 is not allowed');
        case 3:
          throw new UnavailableError('the database is unreachable');
        case 4:
          throw new Error('boom: secret detail');
        case 5: {
          let release: () => void = () => undefined;
          let started: () => void = () => undefined;
          const startedP = new Promise<void>((r) => (started = r));
          const released = new Promise<void>((r) => (release = r));
          held = { release, started: startedP };
          started();
          await released;
          return { data: runner(5) };
        }
        default:
          return { data: runner(req.value) };
      }
    }),
    findList: serverStream('RunnerService/FindList', logger, async function* (_req, signal) {
      yield runner(1);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      markStreamCancelled();
    }),
    delete: unary('RunnerService/Delete', logger, async () => ({ isSuccess: false })),
  };
}

let server: GrpcServer;
let gateway: GrpcWebGateway;

beforeEach(async () => {
  streamCancelled = new Promise<void>((r) => (markStreamCancelled = r));
  held = undefined;
  server = new GrpcServer({
    host: '127.0.0.1',
    port: 0,
    authToken: TOKEN,
    maxMessageBytes: 1024 * 1024,
    keepaliveTimeMs: 0,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 0,
    maxConnectionAgeMs: 0,
    maxConnectionAgeGraceMs: 0,
    maxConcurrentStreams: 100,
    maxConnections: 10,
    services: [{ definition: RunnerServiceService, implementation: runnerServiceDouble() }],
    logger,
  });
  await server.start();
  gateway = await startGrpcWebGateway({
    target: await server.openLoopback(),
    host: '127.0.0.1',
    port: 0,
    corsOrigins: [],
    maxBodyBytes: 4096,
    maxMessageBytes: 1024 * 1024,
    logger,
  });
});

afterEach(async () => {
  held?.release();
  await gateway.stop(100);
  await server.stop(100);
});

async function postJson(
  path: string,
  body: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const res = await fetch(`${gateway.url}/jobworkerp.service.RunnerService/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { 'jobworkerp-auth': token }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
}

describe('the gRPC-Web/JSON gateway', () => {
  it('serves every jobworkerp service of the descriptor set, and health', () => {
    const names = gatewayServices().map((s) => s.typeName);
    expect(names).toEqual(
      expect.arrayContaining([
        'jobworkerp.service.JobService',
        'jobworkerp.service.JobResultService',
        'jobworkerp.service.WorkerService',
        'jobworkerp.service.RunnerService',
        'jobworkerp.service.JobStatusService',
        'jobworkerp.service.JobRestoreService',
        'jobworkerp.ext.JobBatchService',
        'jobworkerp.ext.ScheduleService',
        'jobworkerp.ext.DeadLetterService',
        'jobworkerp.ext.SystemService',
        'grpc.health.v1.Health',
      ]),
    );
  });

  it('answers each gRPC status with its code, its message and the HTTP status of that code', async () => {
    expect(await postJson('Count', {})).toEqual({ status: 200, body: { total: '7' } });
    expect(await postJson('Find', { value: '1' })).toEqual({
      status: 404,
      body: { code: 'not_found', message: 'runner 1 does not exist' },
    });
    expect(await postJson('Find', { value: '2' })).toMatchObject({ status: 400, body: { code: 'invalid_argument' } });
    expect(await postJson('Find', { value: '3' })).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    const internal = await postJson('Find', { value: '4' });
    expect(internal).toMatchObject({ status: 500, body: { code: 'internal' } });
    expect(internal.body.message).not.toContain('secret');
    expect(await postJson('Count', {}, null)).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    // the unimplemented method of a service the server does not offer: as on gRPC
    const absent = await fetch(`${gateway.url}/jobworkerp.service.JobService/Count`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'jobworkerp-auth': TOKEN },
      body: '{}',
    });
    expect(((await absent.json()) as { code: string }).code).toBe('unimplemented');
    // over the body limit, declared or not
    const big = { value: '6', ['x'.repeat(5000)]: 1 };
    expect(await postJson('Find', big)).toMatchObject({ status: 413, body: { code: 'resource_exhausted' } });
    // streamed without a declared length: Connect's own limit
    const chunked = await fetch(`${gateway.url}/jobworkerp.service.RunnerService/Find`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'jobworkerp-auth': TOKEN },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from(JSON.stringify(big)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(429);
    expect(await chunked.json()).toMatchObject({ code: 'resource_exhausted' });
  });

  it('answers health checks without the token', async () => {
    const res = await fetch(`${gateway.url}/grpc.health.v1.Health/Check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"service":"jobworkerp.service.RunnerService"}',
    });
    expect(await res.json()).toEqual({ status: 'SERVING' });
  });

  it('decodes gRPC-Web text padded frame by frame and sent in pieces', async () => {
    // frame header (flag 0, length 2) and message RunnerId{value: 1} = 08 01, each base64-encoded on its own
    const header = Buffer.from([0, 0, 0, 0, 2]).toString('base64');
    const message = Buffer.from([0x08, 0x01]).toString('base64');
    expect(header.endsWith('=') && message.endsWith('=')).toBe(true);
    const pieces = [header.slice(0, 3), header.slice(3) + message];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(Buffer.from(piece));
        controller.close();
      },
    });
    const res = await fetch(`${gateway.url}/jobworkerp.service.RunnerService/Find`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web-text', 'jobworkerp-auth': TOKEN },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    const text = await res.text();
    const decoded = Buffer.concat(
      (text.match(/[A-Za-z0-9+/]*={0,2}/g) ?? []).filter((s) => s !== '').map((s) => Buffer.from(s, 'base64')),
    ).toString('latin1');
    // the double answered runner 1 with NOT_FOUND: the request decoded to value 1
    expect(decoded).toContain('grpc-status: 5');
    expect(decoded).toContain('grpc-message: runner%201%20does%20not%20exist');

    const notBase64 = await fetch(`${gateway.url}/jobworkerp.service.RunnerService/Find`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web-text', 'jobworkerp-auth': TOKEN },
      body: '!!!!',
    });
    const answer = Buffer.from(await notBase64.text(), 'base64').toString('latin1');
    expect(answer).toContain('grpc-status: 3');
    expect(answer).toContain('not%20base64');
  });

  it('cancels the gRPC stream when the gRPC-Web client goes away', async () => {
    const transport = createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: '1.1' });
    const service = gatewayServices().find((s) => s.typeName === 'jobworkerp.service.RunnerService');
    if (service === undefined) throw new Error('no RunnerService');
    const client = createClient(service, transport) as unknown as Record<
      string,
      (req: object, options: object) => AsyncIterable<{ id: { value: bigint } }>
    >;
    const abort = new AbortController();
    const stream = client['findList']!({}, { headers: { 'jobworkerp-auth': TOKEN }, signal: abort.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value).toMatchObject({ id: { value: 1n } });
    abort.abort();
    await iterator.return?.();
    // the server-side generator saw the cancellation (the test times out otherwise)
    await streamCancelled;
  });

  it('lets calls in flight finish at stop, refusing new ones with UNAVAILABLE', async () => {
    const inFlight = postJson('Find', { value: '5' });
    await waitUntil(() => held !== undefined);
    await held?.started;
    const stopping = gateway.stop(30_000);
    const refused = await postJson('Count', {});
    expect(refused).toMatchObject({ status: 503, body: { code: 'unavailable' } });
    expect(refused.body.message).toMatch(/shutting down/);
    held?.release();
    expect(await inFlight).toMatchObject({ status: 200, body: { data: { id: { value: '5' } } } });
    await stopping;
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}
