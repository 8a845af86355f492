/** The AUTH_TOKEN check on a real server: every token, whatever its length, goes through the same comparison. */
import * as crypto from 'node:crypto';
import type { Client, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rawUnaryMethod } from '../../../test/support/raw-grpc.js';
import { silentLogger } from '../../core/src/index.js';
import { AUTH_METADATA_KEY, authInterceptor } from './auth.js';
import { GrpcServer } from './grpc-server.js';

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof crypto>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const TOKEN = 's3cret-token-of-some-length';
const definition: ServiceDefinition = { Echo: rawUnaryMethod('/test.Auth/Echo') };
const EchoClient = makeGenericClientConstructor(definition, 'Auth');
type EchoClient = Client & { Echo(req: Buffer, md: Metadata, cb: (err: ServiceError | null) => void): void };

let server: GrpcServer;
let client: EchoClient;

beforeAll(async () => {
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
    maxConnections: 100,
    services: [
      {
        definition,
        implementation: {
          Echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, call.request),
        },
      },
    ],
    logger: silentLogger,
  });
  const port = await server.start();
  client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as EchoClient;
});
afterAll(async () => {
  client.close();
  await server.stop(100);
});

const call = (token: string): Promise<number> => {
  const md = new Metadata();
  md.set(AUTH_METADATA_KEY, token);
  return new Promise((resolve) =>
    client.Echo(Buffer.from('x'), md, (err) => resolve(err === null ? status.OK : err.code)),
  );
};

describe('authInterceptor', () => {
  it('compares equal-length digests for every token, so the token length does not show in the timing', async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const given of ['', 's', TOKEN.slice(0, -1), TOKEN + 'x', 'y'.repeat(10_000), TOKEN]) {
      compare.mockClear();
      expect(await call(given)).toBe(given === TOKEN ? status.OK : status.UNAUTHENTICATED);
      expect(compare, `token of ${given.length} characters`).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0] as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
    }
  });

  it('refuses a token of only spaces', () => {
    expect(() => authInterceptor('   ')).toThrow(/only spaces/);
  });
});
