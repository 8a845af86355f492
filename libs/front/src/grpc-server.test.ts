/** GrpcServer's connection limits, against real sockets and a grpc-js client. */
import type { Socket } from 'node:net';
import { connect as connectTcp } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawUnaryMethod } from '../../../test/support/raw-grpc.js';
import type { TlsCerts } from '../../../test/support/tls-certs.js';
import { makeTlsCerts } from '../../../test/support/tls-certs.js';
import { silentLogger } from '../../core/src/index.js';
import type { HealthCheckResponse } from '../../proto/src/index.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../proto/src/index.js';
import type { GrpcServerOptions } from './grpc-server.js';
import { GrpcServer } from './grpc-server.js';
import type { TlsMaterial } from './http/http-listener.js';

const definition: ServiceDefinition = {
  Echo: rawUnaryMethod('/test.Limits/Echo'),
  Hold: rawUnaryMethod('/test.Limits/Hold', true),
};

/** calls of Hold being served right now */
let holding = 0;
const implementation = {
  Echo: (call: { request: Buffer }, callback: (err: null, res: Buffer) => void) => callback(null, call.request),
  /** a long call like Listen: answers after the milliseconds written in the request */
  Hold: (call: { request: Buffer; write(b: Buffer): void; end(): void; on(e: 'cancelled', f: () => void): void }) => {
    holding += 1;
    const timer = setTimeout(() => {
      holding -= 1;
      call.write(Buffer.from('held'));
      call.end();
    }, Number(call.request.toString()));
    call.on('cancelled', () => {
      clearTimeout(timer);
      holding -= 1;
    });
  },
};

const LimitsClient = makeGenericClientConstructor(definition, 'Limits');
type LimitsClient = Client & {
  Echo(req: Buffer, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  Hold(req: Buffer): NodeJS.ReadableStream;
};

const servers: GrpcServer[] = [];
const sockets: Socket[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.stop(100)));
  holding = 0;
});

const NO_LIMITS = {
  keepaliveTimeMs: 0,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 0,
  maxConnectionAgeMs: 0,
  maxConnectionAgeGraceMs: 0,
  maxConcurrentStreams: 1000,
  maxConnections: 1000,
};

async function startServer(limits: Partial<typeof NO_LIMITS>, tls?: TlsMaterial): Promise<number> {
  const options: GrpcServerOptions = {
    host: '127.0.0.1',
    port: 0,
    authToken: undefined,
    maxMessageBytes: 1024 * 1024,
    ...NO_LIMITS,
    ...limits,
    services: [{ definition, implementation }],
    logger: silentLogger,
    tls,
  };
  const server = new GrpcServer(options);
  servers.push(server);
  return server.start();
}

function client(port: number): LimitsClient {
  const c = new LimitsClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as LimitsClient;
  clients.push(c);
  return c;
}

const echo = (c: LimitsClient, text: string): Promise<string> =>
  new Promise((resolve, reject) =>
    c.Echo(Buffer.from(text), (err, res) => (err ? reject(err) : resolve(res?.toString() ?? ''))),
  );

/** Runs Hold for `ms` and resolves with what it answered, or the status code it ended with. */
function hold(c: LimitsClient, ms: number): Promise<string | number> {
  return new Promise((resolve) => {
    const chunks: string[] = [];
    const stream = c.Hold(Buffer.from(String(ms)));
    stream.on('data', (b: Buffer) => chunks.push(b.toString()));
    stream.on('error', (err: ServiceError) => resolve(err.code));
    stream.on('end', () => resolve(chunks.join('')));
  });
}

/** A TCP socket to the port; `closed` resolves when the server closes it. */
async function openSocket(port: number, send?: Buffer): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connectTcp(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (send !== undefined) socket.write(send);
  return { socket, closed };
}

/** resolves true if `closed` settles within `ms` */
const closesWithin = (closed: Promise<void>, ms: number): Promise<boolean> =>
  Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);

/** The client preface and an empty SETTINGS frame: an HTTP/2 peer that then never answers anything (not even pings). */
const HTTP2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

describe('GrpcServer connection limits', () => {
  it('closes connections above maxConnections as they arrive, and serves again once one is gone', async () => {
    const port = await startServer({ maxConnections: 3 });
    const held = [await openSocket(port), await openSocket(port), await openSocket(port)];
    const extra = await openSocket(port);
    expect(await closesWithin(extra.closed, 10_000)).toBe(true);
    for (const { closed } of held) expect(await closesWithin(closed, 200)).toBe(false);
    held[0]?.socket.destroy();
    await held[0]?.closed;
    // the server notices the closed socket on its own schedule
    let answer: string | undefined;
    for (let i = 0; i < 50 && answer === undefined; i++) {
      const c = client(port);
      answer = await echo(c, 'hi').catch(async () => {
        c.close();
        await sleep(100);
        return undefined;
      });
    }
    expect(answer).toBe('hi');
  });

  it('closes sockets without calls after maxConnectionIdleMs, also those that never speak HTTP/2', async () => {
    const port = await startServer({ maxConnectionIdleMs: 500 });
    const silent = await openSocket(port);
    const http2 = await openSocket(port, HTTP2_PREFACE);
    expect(await closesWithin(silent.closed, 15_000)).toBe(true);
    expect(await closesWithin(http2.closed, 15_000)).toBe(true);
  });

  it('closes a connection whose peer does not answer keepalive pings', async () => {
    const port = await startServer({ keepaliveTimeMs: 300, keepaliveTimeoutMs: 300 });
    const deaf = await openSocket(port, HTTP2_PREFACE);
    expect(await closesWithin(deaf.closed, 15_000)).toBe(true);
    // a real client answers the pings and keeps its connection
    const c = client(port);
    expect(await hold(c, 1_500)).toBe('held');
    expect(await echo(c, 'still here')).toBe('still here');
  });

  it('does not cut a long call (like a 70 s Listen) on a connection pinged and past its idle time', async () => {
    const port = await startServer({ keepaliveTimeMs: 300, keepaliveTimeoutMs: 1_000, maxConnectionIdleMs: 300 });
    const c = client(port);
    expect(await hold(c, 3_000)).toBe('held');
    expect(await echo(c, 'after')).toBe('after');
  });

  it('lets a long call finish on a connection asked to go away for its age (no grace limit)', async () => {
    const port = await startServer({ maxConnectionIdleMs: 300, maxConnectionAgeMs: 500, maxConnectionAgeGraceMs: 0 });
    const c = client(port);
    expect(await hold(c, 3_000)).toBe('held');
    // the client reconnects for new calls
    expect(await echo(c, 'after')).toBe('after');
  });

  it('ends calls still in flight after the age grace period', async () => {
    const port = await startServer({ maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 300 });
    expect(await hold(client(port), 10_000)).toBe(status.UNAVAILABLE);
  });

  it('serves at most maxConcurrentStreams calls of one connection at once; the others wait their turn', async () => {
    const port = await startServer({ maxConcurrentStreams: 2 });
    const c = client(port);
    const calls = [hold(c, 1_000), hold(c, 1_000), hold(c, 1_000)];
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, holding)), 10);
    const answers = await Promise.all(calls);
    clearInterval(watch);
    expect(answers).toEqual(['held', 'held', 'held']);
    expect(most).toBe(2);
  });
});

describe('GrpcServer health statuses', () => {
  it('sets a service or the whole server NOT_SERVING and back, streams only changes to Watch, and stays NOT_SERVING once stopping', async () => {
    const port = await startServer({});
    const server = servers.at(-1)!;
    expect(server.serviceNames).toEqual(['test.Limits']);
    const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(health);
    const check = (service: string): Promise<HealthCheckResponse_ServingStatus> =>
      new Promise((resolve, reject) =>
        health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;
    const watched: HealthCheckResponse_ServingStatus[] = [];
    const watch = health.watch({ service: 'test.Limits' });
    watch.on('data', (r: HealthCheckResponse) => watched.push(r.status));
    watch.on('error', () => undefined);

    expect(await check('')).toBe(SERVING);
    expect(await check('test.Limits')).toBe(SERVING);
    server.setServing('test.Limits', false);
    server.setServing('test.Limits', false);
    expect(await check('test.Limits')).toBe(NOT_SERVING);
    expect(await check('')).toBe(SERVING);
    server.setServing('', false);
    expect(await check('')).toBe(NOT_SERVING);
    server.setServing('test.Limits', true);
    server.setServing('test.Limits', true);
    server.setServing('', true);
    expect(await check('test.Limits')).toBe(SERVING);
    expect(await check('')).toBe(SERVING);
    for (let i = 0; i < 100 && watched.length < 3; i++) await sleep(10);
    expect(watched).toEqual([SERVING, NOT_SERVING, SERVING]);

    const stopping = server.stop(1000);
    server.setServing('test.Limits', true);
    server.setServing('', true);
    // the Watch in flight hears the stop, and nothing after it
    for (let i = 0; i < 100 && watched.length < 4; i++) await sleep(10);
    await sleep(100);
    expect(watched).toEqual([SERVING, NOT_SERVING, SERVING, NOT_SERVING]);
    watch.cancel();
    await stopping;
  });
});

describe('GrpcServer over TLS', () => {
  let certs: TlsCerts;
  let material: TlsMaterial;
  beforeAll(async () => {
    certs = await makeTlsCerts();
    material = { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) };
  });
  afterAll(() => certs?.remove());

  const tlsClient = (port: number, withCert: boolean): LimitsClient => {
    const creds = credentials.createSsl(
      readFileSync(certs.caCert),
      withCert ? readFileSync(certs.clientKey) : null,
      withCert ? readFileSync(certs.clientCert) : null,
    );
    const c = new LimitsClient(`localhost:${port}`, creds) as unknown as LimitsClient;
    clients.push(c);
    return c;
  };

  it('serves TLS clients only, and keeps maxConnections (raw sockets count before their handshake)', async () => {
    const port = await startServer({ maxConnections: 3 }, material);
    expect(await echo(tlsClient(port, false), 'secret')).toBe('secret');
    await expect(echo(client(port), 'plain')).rejects.toMatchObject({ code: status.UNAVAILABLE });
    for (const c of clients.splice(0)) c.close();
    const held = [await openSocket(port), await openSocket(port), await openSocket(port)];
    const extra = await openSocket(port);
    expect(await closesWithin(extra.closed, 10_000)).toBe(true);
    for (const { closed } of held) expect(await closesWithin(closed, 200)).toBe(false);
  });

  it('with a client CA, serves only clients with a certificate it signed', async () => {
    const port = await startServer({}, { ...material, clientCa: readFileSync(certs.caCert) });
    await expect(echo(tlsClient(port, false), 'anonymous')).rejects.toMatchObject({ code: status.UNAVAILABLE });
    expect(await echo(tlsClient(port, true), 'known')).toBe('known');
  });
});
