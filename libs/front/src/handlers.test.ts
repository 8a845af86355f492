/** The call observer of the handler adapters, on a real GrpcServer and a grpc-js client: how each kind of call ends. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { rawUnaryMethod } from '../../../test/support/raw-grpc.js';
import { NotFoundError, silentLogger } from '../../core/src/index.js';
import { GrpcServer } from './grpc-server.js';
import { observeGrpcCalls, serverStream, unary } from './handlers.js';

const definition: ServiceDefinition = {
  Echo: rawUnaryMethod('/test.Observed/Echo'),
  Items: rawUnaryMethod('/test.Observed/Items', true),
};

/** Echo answers its request, or NOT_FOUND for "missing"; Items streams the request's words, forever for "forever". */
const implementation = {
  Echo: unary<Buffer, Buffer>('Observed/Echo', silentLogger, async (req) => {
    if (req.toString() === 'missing') throw new NotFoundError('no such thing');
    return req;
  }),
  Items: serverStream<Buffer, Buffer>('Observed/Items', silentLogger, async function* (req, signal) {
    const words = req.toString().split(' ');
    if (words[0] === 'forever') {
      while (!signal.aborted) {
        yield Buffer.from('tick');
        await sleep(10);
      }
      return;
    }
    for (const word of words) {
      if (word === 'fail') throw new NotFoundError('gone');
      yield Buffer.from(word);
    }
  }),
};

type ObservedClient = Client & {
  Echo(req: Buffer, cb: (err: ServiceError | null, res?: Buffer) => void): void;
  Items(req: Buffer): NodeJS.ReadableStream & { cancel(): void };
};
const ObservedClient = makeGenericClientConstructor(definition, 'Observed');

let server: GrpcServer | undefined;
let client: ObservedClient | undefined;
afterEach(async () => {
  observeGrpcCalls(undefined);
  client?.close();
  await server?.stop(100);
});

async function start(): Promise<ObservedClient> {
  server = new GrpcServer({
    host: '127.0.0.1',
    port: 0,
    authToken: undefined,
    maxMessageBytes: 1024 * 1024,
    keepaliveTimeMs: 0,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 0,
    maxConnectionAgeMs: 0,
    maxConnectionAgeGraceMs: 0,
    maxConcurrentStreams: 100,
    maxConnections: 100,
    services: [{ definition, implementation }],
    logger: silentLogger,
  });
  const port = await server.start();
  client = new ObservedClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as ObservedClient;
  return client;
}

const echo = (c: ObservedClient, text: string): Promise<unknown> =>
  new Promise((resolve) => c.Echo(Buffer.from(text), (err) => resolve(err?.code ?? status.OK)));

const items = (c: ObservedClient, text: string): Promise<unknown> =>
  new Promise((resolve) => {
    const stream = c.Items(Buffer.from(text));
    stream.on('data', () => undefined);
    stream.on('error', (err: ServiceError) => resolve(err.code));
    stream.on('end', () => resolve(status.OK));
  });

describe('the call observer', () => {
  it('hears how each unary and streaming call ended, with its method', async () => {
    const heard: string[] = [];
    observeGrpcCalls((method, code) => heard.push(`${method} ${status[code]}`));
    const c = await start();
    expect(await echo(c, 'hi')).toBe(status.OK);
    expect(await echo(c, 'missing')).toBe(status.NOT_FOUND);
    expect(await items(c, 'a b c')).toBe(status.OK);
    expect(await items(c, 'a fail')).toBe(status.NOT_FOUND);
    // a stream the client cancels ends as CANCELLED
    const stream = c.Items(Buffer.from('forever'));
    stream.on('error', () => undefined);
    await new Promise((resolve) => stream.once('data', resolve));
    stream.cancel();
    for (let i = 0; i < 100 && heard.length < 5; i++) await sleep(10);
    expect(heard).toEqual([
      'Observed/Echo OK',
      'Observed/Echo NOT_FOUND',
      'Observed/Items OK',
      'Observed/Items NOT_FOUND',
      'Observed/Items CANCELLED',
    ]);
  });

  it('is told nothing once unset', async () => {
    const heard: string[] = [];
    observeGrpcCalls((method) => heard.push(method));
    observeGrpcCalls(undefined);
    const c = await start();
    expect(await echo(c, 'hi')).toBe(status.OK);
    expect(heard).toEqual([]);
  });
});
