import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServer } from '../../../test/support/redis-server.js';
import { startRedisServer } from '../../../test/support/redis-server.js';
import { NODE_ID_COUNT, UnavailableError } from '../../core/src/index.js';
import { NodeIdLease } from './node-id-lease.js';
import { purgeRedisNamespace } from './redis-namespace.js';
import { waitUntil } from './testing/wait-until.js';

/** short enough for a test, long enough for a loaded machine: renewals every 1 s, retries every 200 ms */
const TTL_MS = 3_000;
const RETRY_MS = 200;
const WAIT_MS = 15_000;

const nodeIdOf = (id: number): number => Math.floor(id / 2 ** 7) % 2 ** 6;

function expectUnavailable(lease: NodeIdLease): void {
  expect(() => lease.next()).toThrow(UnavailableError);
  expect(() => lease.next()).toThrow(/lost its node id lease in Redis.*retry shortly/);
}

describe('NodeIdLease on the shared Redis', () => {
  const redis = { url: 'redis://127.0.0.1:6379', cluster: false };
  let keyPrefix: string;
  let admin: Redis;
  const leases: NodeIdLease[] = [];
  const events: string[] = [];

  const acquire = async (): Promise<NodeIdLease> => {
    const lease = await NodeIdLease.acquire({
      redis,
      keyPrefix,
      ttlMs: TTL_MS,
      retryMs: RETRY_MS,
      onLost: (nodeId) => events.push(`lost ${nodeId}`),
      onRegained: (nodeId) => events.push(`regained ${nodeId}`),
    });
    leases.push(lease);
    return lease;
  };

  beforeAll(() => {
    admin = new Redis(6379, '127.0.0.1');
  });
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((lease) => lease.release()));
    await purgeRedisNamespace(redis, keyPrefix);
    events.length = 0;
  });
  afterAll(() => {
    admin.disconnect();
  });

  it('issues increasing ids carrying its node id while it holds the lease', async () => {
    keyPrefix = `jwtest-${randomUUID()}`;
    const lease = await acquire();
    const a = lease.next();
    const b = lease.next();
    expect(b).toBeGreaterThan(a);
    expect(nodeIdOf(a)).toBe(lease.nodeId);
    expect(await admin.pttl(`${keyPrefix}:node:${lease.nodeId}`)).toBeGreaterThan(0);
  });

  it('leaves its node id to a process that took it, and leases another one', async () => {
    keyPrefix = `jwtest-${randomUUID()}`;
    const lease = await acquire();
    const stolen = lease.nodeId;
    const before = lease.next();
    // another process holds the key now (as after an outage longer than the TTL)
    await admin.set(`${keyPrefix}:node:${stolen}`, 'someone-else', 'PX', 60_000);
    // the next renewal finds it taken and leases another free node id at once
    await waitUntil(() => lease.nodeId !== stolen, 'another node id', WAIT_MS);
    expect(lease.state).toBe('held');
    const after = lease.next();
    expect(nodeIdOf(after)).toBe(lease.nodeId);
    expect(after).toBeGreaterThan(before);
    expect(await admin.get(`${keyPrefix}:node:${stolen}`)).toBe('someone-else');
    expect(events).toEqual([`lost ${stolen}`, `regained ${lease.nodeId}`]);
  });

  it('sets its key again when it disappeared (deleted or expired) and no one else took it', async () => {
    keyPrefix = `jwtest-${randomUUID()}`;
    const lease = await acquire();
    const key = `${keyPrefix}:node:${lease.nodeId}`;
    await admin.del(key);
    const deadline = Date.now() + WAIT_MS;
    while ((await admin.get(key)) === null && Date.now() < deadline) await sleep(50);
    expect(await admin.pttl(key)).toBeGreaterThan(0);
    expect(lease.state).toBe('held');
    expect(nodeIdOf(lease.next())).toBe(lease.nodeId);
  });

  it('waits while every node id is taken, and leases the first one freed', async () => {
    keyPrefix = `jwtest-${randomUUID()}`;
    const lease = await acquire();
    const mine = lease.nodeId;
    for (let n = 0; n < NODE_ID_COUNT; n++) await admin.set(`${keyPrefix}:node:${n}`, 'someone-else', 'PX', 60_000);
    await waitUntil(() => lease.state === 'lost', 'the lease to be lost', WAIT_MS);
    // several attempts find nothing free
    await sleep(3 * RETRY_MS);
    expectUnavailable(lease);
    expect(() => lease.next()).toThrow(new RegExp(`all ${NODE_ID_COUNT} node ids are leased`));
    const freed = (mine + 5) % NODE_ID_COUNT;
    await admin.del(`${keyPrefix}:node:${freed}`);
    await waitUntil(() => lease.state === 'held', 'the lease to be held again', WAIT_MS);
    expect(lease.nodeId).toBe(freed);
    expect(nodeIdOf(lease.next())).toBe(freed);
  });

  it('issues nothing after release, and frees its key', async () => {
    keyPrefix = `jwtest-${randomUUID()}`;
    const lease = await acquire();
    await lease.release();
    expect(() => lease.next()).toThrow(/stopping/);
    expect(await admin.exists(`${keyPrefix}:node:${lease.nodeId}`)).toBe(0);
  });
});

describe('NodeIdLease through a Redis outage', () => {
  let server: RedisServer;
  const leases: NodeIdLease[] = [];

  beforeAll(async () => {
    server = await startRedisServer(`pw${randomUUID().replace(/-/g, '')}`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(leases.map((lease) => lease.release()));
    await server.cleanup();
  });

  it('stops issuing ids once its TTL passed without renewal, and issues again (same node id) when Redis is back', async () => {
    const lease = await NodeIdLease.acquire({
      redis: { url: server.url, cluster: false, commandTimeoutMs: 1_000 },
      keyPrefix: 'outage',
      ttlMs: TTL_MS,
      retryMs: RETRY_MS,
    });
    leases.push(lease);
    const nodeId = lease.nodeId;
    const before = lease.next();
    // SIGKILL: Redis keeps the key (append-only file) with its absolute expiry; the key is gone when it comes back
    await server.stop('SIGKILL');
    await waitUntil(() => lease.state === 'lost', 'the lease to be lost', WAIT_MS);
    expectUnavailable(lease);
    await sleep(TTL_MS);
    expectUnavailable(lease);
    await server.start();
    await waitUntil(() => lease.state === 'held', 'the lease to be held again', WAIT_MS);
    expect(lease.nodeId).toBe(nodeId);
    const after = lease.next();
    expect(after).toBeGreaterThan(before);
    expect(nodeIdOf(after)).toBe(nodeId);
  }, 60_000);
});
