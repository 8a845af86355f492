/**
 * RedisHealthProbe against a private redis-server that the test stops and starts, and against a Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { startRedisCluster } from '../../../test/support/redis-cluster.js';
import type { RedisServer } from '../../../test/support/redis-server.js';
import { startRedisServer } from '../../../test/support/redis-server.js';
import { UnavailableError } from '../../core/src/index.js';
import { RedisHealthProbe } from './redis-health-probe.js';

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('RedisHealthProbe on a single Redis', () => {
  const password = `pw${randomBytes(6).toString('hex')}`;
  let redis: RedisServer | undefined;
  let probe: RedisHealthProbe | undefined;
  afterAll(async () => {
    await probe?.close();
    await redis?.cleanup();
  });

  it('answers while Redis runs, fails naming the address (not the password) while it is down, and hints both ways', async () => {
    redis = await startRedisServer(password);
    probe = new RedisHealthProbe({ url: redis.url, cluster: false });
    expect(probe.address).toBe(redis.address);
    const hints: boolean[] = [];
    probe.onChange((connected) => hints.push(connected));
    await probe.check(5000);

    await redis.stop('SIGKILL');
    await until(() => hints.includes(false), 'the probe hints the connection is lost');
    const error = await probe.check(5000).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(`redis unavailable at ${redis.address}`);
    expect((error as Error).message).not.toContain(password);

    await redis.start();
    await until(() => hints.at(-1) === true, 'the probe hints the connection is ready');
    await probe.check(5000);
  });

  it('fails a wrong password with the reason', async () => {
    const wrong = new RedisHealthProbe({ url: `redis://:nope@${redis!.address}`, cluster: false });
    try {
      await expect(wrong.check(3000)).rejects.toThrow(/redis unavailable at .*(WRONGPASS|invalid|NOAUTH)/i);
    } finally {
      await wrong.close();
    }
  });
});

describe('RedisHealthProbe on a Redis Cluster', () => {
  let cluster: RedisClusterHandle | undefined;
  let probe: RedisHealthProbe | undefined;
  afterAll(async () => {
    await probe?.close();
    await cluster?.stop();
  });

  it('answers while the cluster is ok, and fails once its nodes are gone', async () => {
    cluster = await startRedisCluster();
    probe = new RedisHealthProbe({ url: cluster.url, cluster: true });
    await probe.check(5000);
    await cluster.stop();
    await expect(probe.check(2000)).rejects.toThrow(UnavailableError);
  });
});
