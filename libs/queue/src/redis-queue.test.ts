import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { startRedisCluster } from '../../../test/support/redis-cluster.js';
import { Cluster, Redis } from 'ioredis';
import {
  AlreadyExistsError,
  EncodedJobResult,
  InvalidArgumentError,
  Priority,
  UnavailableError,
} from '../../core/src/index.js';
import type { ClaimedJob } from './ports.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisJobStateStore } from './redis-job-state-store.js';
import { RedisKeys } from './redis-keys.js';
import { purgeRedisNamespace } from './redis-namespace.js';
import type { RedisQueueOptions } from './redis-queue.js';
import { RedisQueue } from './redis-queue.js';
import { RedisResultBus } from './redis-result-bus.js';
import { testJob, testJobResult } from './testing/index.js';

const SINGLE: RedisConnectionOptions = { url: 'redis://127.0.0.1:6379', cluster: false };
const LONG_LEASE_MS = 60_000;
/** a wait for something that should happen at once; generous for a loaded machine */
const PROMPT_MS = 2_000;

let cluster: Promise<RedisClusterHandle> | undefined;
afterAll(async () => {
  await (await cluster)?.stop();
});

const backends: ReadonlyArray<{ name: string; redis: () => Promise<RedisConnectionOptions> }> = [
  { name: 'single Redis', redis: async () => SINGLE },
  {
    name: 'Redis Cluster',
    redis: async () => ({ url: (await (cluster ??= startRedisCluster())).url, cluster: true }),
  },
];

describe.each(backends)('RedisQueue on $name', ({ redis }) => {
  let options: RedisConnectionOptions;
  let keyPrefix: string;
  let channel: string;
  const opened: RedisQueue[] = [];

  /** Another process's view of the same queue: its own connections, the same namespace. */
  const open = async (extra: Partial<RedisQueueOptions> = {}): Promise<RedisQueue> => {
    if (opened.length === 0) {
      options = await redis();
      keyPrefix = `jwtest-${randomUUID()}`;
      channel = `ch-${randomUUID()}`;
    }
    const queue = new RedisQueue({ redis: options, keyPrefix, maxPendingPerChannel: 10_000, ...extra });
    opened.push(queue);
    return queue;
  };

  afterEach(async () => {
    for (const queue of opened.splice(0)) await queue.close();
    await purgeRedisNamespace(options, keyPrefix);
  });

  it('hands a job held by a consumer that went away to another once the lease ends, retried unchanged', async () => {
    const producer = await open();
    const dying = await open();
    const survivor = await open();
    const job = testJob(1, { retried: 2, priority: Priority.PRIORITY_HIGH });
    await producer.enqueue(job, channel);
    // the lease starts on the Redis clock between these two instants: measured from the first, as its reply may be
    // slow to come back on a busy machine; long enough for the survivor's first look to come before it ends
    const claimedAt = performance.now();
    const [held] = await dying.claim(channel, { max: 1, waitMs: 0, leaseMs: 1500 });
    expect(held?.job).toEqual(job);
    // connections close without ack or release: all Redis sees of a crash
    await dying.close();

    expect(await survivor.claim(channel, { max: 1, waitMs: 0, leaseMs: LONG_LEASE_MS })).toEqual([]);
    const [again] = await survivor.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
    expect(performance.now() - claimedAt).toBeGreaterThanOrEqual(1490);
    expect(again?.job).toEqual(job);
    expect(again?.receipt).not.toBe(held?.receipt);
    await survivor.ack(again!);
    expect(await producer.count()).toBe(0);
  });

  it('never delivers a job twice while its consumer keeps renewing the lease', async () => {
    const producer = await open();
    const runner = await open();
    const rival = await open();
    await producer.enqueue(testJob(1), channel);
    const [claim] = await runner.claim(channel, { max: 1, waitMs: 0, leaseMs: 300 });
    const renewals: boolean[] = [];
    const renewing = (async () => {
      for (let i = 0; i < 15; i += 1) {
        await sleep(100);
        renewals.push(await runner.renew(claim!, 300));
      }
    })();
    // waits five lease lengths while the job runs
    expect(await rival.claim(channel, { max: 1, waitMs: 1_500, leaseMs: LONG_LEASE_MS })).toEqual([]);
    await renewing;
    expect(renewals).toEqual(Array.from({ length: 15 }, () => true));
    await runner.ack(claim!);
    expect(await rival.claim(channel, { max: 1, waitMs: 400, leaseMs: LONG_LEASE_MS })).toEqual([]);
    expect(await producer.count()).toBe(0);
  });

  it('gives each of 2,000 jobs to exactly one of 4 concurrent claimers', async () => {
    const producer = await open();
    const claimers = [await open(), await open(), await open(), await open()];
    const total = 2_000;
    const priorities = [Priority.PRIORITY_LOW, Priority.PRIORITY_MEDIUM, Priority.PRIORITY_HIGH];
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) =>
        producer.enqueue(testJob(i + 1, { priority: priorities[i % 3] }), channel),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(total);

    const deliveries = new Map<number, number>();
    const perClaimer = await Promise.all(
      claimers.map(async (queue) => {
        let mine = 0;
        for (;;) {
          const claims = await queue.claim(channel, { max: 50, waitMs: 300, leaseMs: LONG_LEASE_MS });
          if (claims.length === 0) return mine;
          for (const { job } of claims) deliveries.set(job.id, (deliveries.get(job.id) ?? 0) + 1);
          mine += claims.length;
          await Promise.all(claims.map((claim) => queue.ack(claim)));
        }
      }),
    );
    expect(perClaimer.reduce((sum, n) => sum + n, 0)).toBe(total);
    expect(deliveries.size).toBe(total);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    expect(await producer.count()).toBe(0);
  });

  it('concurrent enqueues (batched into one script call) each report on their own: added, already queued, channel full', async () => {
    const queue = await open({ maxPendingPerChannel: 3 });
    const outcomes = await Promise.allSettled([
      queue.enqueue(testJob(1), channel),
      queue.enqueue(testJob(2), channel),
      queue.enqueue(testJob(1), `${channel}-other`),
      queue.enqueue(testJob(3), channel),
      queue.enqueue(testJob(4), channel),
      queue.enqueue(testJob(5), `${channel}-other`),
    ]);
    const reasons = outcomes.map((outcome): unknown => (outcome.status === 'rejected' ? outcome.reason : undefined));
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(reasons[2]).toBeInstanceOf(AlreadyExistsError);
    expect(reasons[4]).toBeInstanceOf(UnavailableError);
    expect(await queue.count()).toBe(4);
  });

  it('passes on a wake-up that an abandoned wait took, so a waiting claimer gets the job at once', async () => {
    // long blocking reads: without the hand-on, the second claimer would sleep 10 s
    const queue = await open({ maxBlockMs: 10_000 });
    const producer = await open();
    const controller = new AbortController();
    const { signal } = controller;
    const abandoned = queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS, signal });
    await sleep(200);
    controller.abort();
    expect(await abandoned).toEqual([]);
    expect(queue.stats().waitingClaims).toBe(0);

    const waiting = queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
    await sleep(50);
    const started = performance.now();
    // the abandoned read blocked first, so Redis gives it the token
    await producer.enqueue(testJob(1), channel);
    expect((await waiting).map((claim) => claim.job.id)).toEqual([1]);
    expect(performance.now() - started).toBeLessThan(PROMPT_MS);
    const { waitingClaims, blockers } = queue.stats();
    expect(waitingClaims).toBe(0);
    expect(blockers.idle + blockers.busy).toBe(2);
  });

  it('puts lapsed leases back ahead of waiting jobs of their lane, earliest lease first, and says how many', async () => {
    const lapsed: Array<[string, number]> = [];
    const queue = await open({ onLeasesLapsed: (ch, count) => lapsed.push([ch, count]) });
    for (const id of [1, 2, 3, 4]) await queue.enqueue(testJob(id), channel);
    const first = await queue.claim(channel, { max: 1, waitMs: 0, leaseMs: 100 });
    const second = await queue.claim(channel, { max: 2, waitMs: 0, leaseMs: 200 });
    expect([...first, ...second].map((claim: ClaimedJob) => claim.job.id)).toEqual([1, 2, 3]);
    expect(lapsed).toEqual([]);
    await sleep(300);
    const again = await queue.claim(channel, { max: 10, waitMs: 0, leaseMs: LONG_LEASE_MS });
    expect(again.map((claim) => claim.job.id)).toEqual([1, 2, 3, 4]);
    expect(lapsed).toEqual([[channel, 3]]);
  });

  it('refuses a channel name with a line break (it would end the header of the job record early)', async () => {
    const queue = await open();
    await expect(queue.enqueue(testJob(1), 'a\nb')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await queue.count()).toBe(0);
  });

  it('holds a waiting job as one lane entry and one record; a removed id leaves at the next claim', async () => {
    const queue = await open();
    const keys = new RedisKeys(keyPrefix);
    await withRawClient(options, async (raw) => {
      await queue.enqueue(testJob(1), channel);
      await queue.enqueue(testJob(2, { priority: Priority.PRIORITY_HIGH }), channel);
      await queue.enqueue(testJob(3), channel);
      const lanes = (): Promise<number[]> => Promise.all(keys.lanes(channel).map((lane) => raw.llen(lane)));
      expect(await lanes()).toEqual([1, 2, 0]);
      expect(await raw.hlen(keys.jobs)).toBe(3);
      expect(await queue.remove(1)).toBe(true);
      expect(await raw.hlen(keys.jobs)).toBe(2);
      expect(await lanes()).toEqual([1, 2, 0]);
      const claimed = await queue.claim(channel, { max: 10, waitMs: 0, leaseMs: LONG_LEASE_MS });
      expect(claimed.map((claim) => claim.job.id)).toEqual([2, 3]);
      expect(await lanes()).toEqual([0, 0, 0]);
      expect(await raw.exists(keys.wake(channel))).toBe(0);
    });
  });

  it('drops expired kept results from the results hash as later ones are kept', async () => {
    const queue = await open({ keepResultMs: 50 });
    const keys = new RedisKeys(keyPrefix);
    const keep = (claim: ClaimedJob): Promise<boolean> =>
      queue.complete(claim, {
        continues: false,
        result: { encoded: EncodedJobResult.of(testJobResult(claim.job.id, 7)), keep: true },
      });
    await withRawClient(options, async (raw) => {
      await queue.enqueue(testJob(1), channel);
      await queue.enqueue(testJob(2), channel);
      const [first, second] = await queue.claim(channel, { max: 2, waitMs: 0, leaseMs: LONG_LEASE_MS });
      expect(await keep(first!)).toBe(true);
      expect(await raw.hlen(keys.results)).toBe(1);
      await sleep(100);
      expect(await keep(second!)).toBe(true);
      expect(await raw.hkeys(keys.results)).toEqual(['2']);
      expect(await raw.zrange(keys.resultsExpiry, 0, -1)).toEqual(['2']);
    });
  });
});

/** Runs `use` with a plain ioredis client of the backend, to look at the keys themselves. */
async function withRawClient(
  options: RedisConnectionOptions,
  use: (raw: Redis | Cluster) => Promise<void>,
): Promise<void> {
  const first = new URL(options.url.split(',')[0] as string);
  const host = first.hostname;
  const port = Number(first.port);
  const raw = options.cluster ? new Cluster([{ host, port }]) : new Redis(port, host);
  try {
    await use(raw);
  } finally {
    raw.disconnect();
  }
}

describe('a consumer process killed with SIGKILL on a single Redis', () => {
  const keyPrefix = `jwtest-${randomUUID()}`;
  afterAll(async () => {
    await purgeRedisNamespace(SINGLE, keyPrefix);
  });

  it('loses no job: another consumer claims it once the lease ends', async () => {
    const channel = 'crash';
    const queue = new RedisQueue({ redis: SINGLE, keyPrefix, maxPendingPerChannel: 10 });
    await queue.enqueue(testJob(7, { retried: 1 }), channel);
    const child = spawnClaimer({ keyPrefix, channel, leaseMs: 1_000 });
    try {
      const line = await child.claimedLine;
      expect(line).toBe('claimed 7');
      child.process.kill('SIGKILL');
      const killedAt = performance.now();
      expect(await queue.claim(channel, { max: 1, waitMs: 0, leaseMs: LONG_LEASE_MS })).toEqual([]);
      const [claim] = await queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
      expect(claim?.job).toEqual(testJob(7, { retried: 1 }));
      expect(performance.now() - killedAt).toBeLessThan(1_000 + PROMPT_MS);
      await queue.ack(claim!);
      expect(await queue.count()).toBe(0);
    } finally {
      child.process.kill('SIGKILL');
      await queue.close();
    }
  });
});

describe('Redis that cannot be reached', () => {
  it('fails calls with UnavailableError naming the address, never the password', async () => {
    const port = await unusedPort();
    const redis: RedisConnectionOptions = { url: `redis://:s3cret-pw@127.0.0.1:${port}`, cluster: false };
    const keyPrefix = 'jwtest-down';
    const told: UnavailableError[] = [];
    const queue = new RedisQueue({
      redis: { ...redis, onError: (err) => told.push(err) },
      keyPrefix,
      maxPendingPerChannel: 10,
    });
    const store = new RedisJobStateStore({ redis, keyPrefix });
    const bus = new RedisResultBus({ redis, keyPrefix, keepMs: 1_000 });
    try {
      const failures = await Promise.all([
        queue.enqueue(testJob(1), 'ch').catch((e: unknown) => e),
        queue.claim('ch', { max: 1, waitMs: 0, leaseMs: 1_000 }).catch((e: unknown) => e),
        store.acquireUniqKey('k', 1).catch((e: unknown) => e),
        bus.waitForJob(1, 10_000).catch((e: unknown) => e),
      ]);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(UnavailableError);
        const message = (failure as Error).message;
        expect(message).toContain(`redis unavailable at 127.0.0.1:${port}: `);
        expect(message).toContain('ECONNREFUSED');
        expect(message).not.toContain('s3cret-pw');
      }
      // the queue's connections tell their failures (the enqueue and the claim), the others were not asked to
      expect(told.length).toBeGreaterThanOrEqual(2);
      expect(told.every((err) => err instanceof UnavailableError && err.message.includes('ECONNREFUSED'))).toBe(true);
    } finally {
      await Promise.all([queue.close(), store.close(), bus.close()]);
    }
  });

  it('fails calls on a Cluster that cannot be reached, within commandTimeoutMs at the latest', async () => {
    const port = await unusedPort();
    const queue = new RedisQueue({
      redis: { url: `redis://127.0.0.1:${port}`, cluster: true, commandTimeoutMs: 500 },
      keyPrefix: 'jwtest-down',
      maxPendingPerChannel: 10,
    });
    try {
      const started = performance.now();
      const failure: unknown = await queue.count().catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(500 + PROMPT_MS);
      expect(failure).toBeInstanceOf(UnavailableError);
      expect((failure as Error).message).toContain(`redis unavailable at 127.0.0.1:${port}: `);
    } finally {
      await queue.close();
    }
  });
});

/** A port nothing listens on (it was free a moment ago). */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A separate Node process that claims one job of the channel, says `claimed <id>`, then hangs until killed. */
function spawnClaimer(params: { keyPrefix: string; channel: string; leaseMs: number }): {
  process: ReturnType<typeof spawn>;
  claimedLine: Promise<string>;
} {
  const queueModule = fileURLToPath(new URL('./redis-queue.ts', import.meta.url));
  const code = `
    import { RedisQueue } from ${JSON.stringify(queueModule)};
    const p = JSON.parse(process.env.CLAIMER);
    const redis = { url: 'redis://127.0.0.1:6379', cluster: false };
    const queue = new RedisQueue({ redis, keyPrefix: p.keyPrefix, maxPendingPerChannel: 10 });
    const [claim] = await queue.claim(p.channel, { max: 1, waitMs: 5000, leaseMs: p.leaseMs });
    console.log('claimed ' + claim.job.id);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env: { ...process.env, CLAIMER: JSON.stringify(params) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const claimedLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = /^claimed \d+/m.exec(output);
      if (line !== null) resolve(line[0]);
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the claimer exited with ${code}:\n${output}`)));
  });
  return { process: child, claimedLine };
}
