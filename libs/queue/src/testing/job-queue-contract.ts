import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../../../core/src/index.js';
import { AlreadyExistsError, InvalidArgumentError, Priority, UnavailableError } from '../../../core/src/index.js';
import type { ClaimedJob, JobQueue } from '../ports.js';
import { testJob } from './test-job.js';

export interface JobQueueFixture {
  readonly queue: JobQueue;
  /** Closes the queue (it may be closed already) and removes whatever it stored. */
  cleanup(): Promise<void>;
}

/** Makes a fresh, empty queue isolated from every other (its own key prefix on a shared backend). */
export type JobQueueFactory = (options: {
  readonly maxPendingPerChannel: number;
  readonly maxPendingTotal?: number | undefined;
}) => Promise<JobQueueFixture>;

const CAPACITY = 1_000;
/** a lease no test outlives */
const LONG_LEASE_MS = 60_000;
/** a wait for something that should happen at once; generous for a loaded machine */
const PROMPT_MS = 2_000;

const { PRIORITY_HIGH: HIGH, PRIORITY_MEDIUM: MEDIUM, PRIORITY_LOW: LOW } = Priority;

function ids(claims: readonly ClaimedJob[]): number[] {
  return claims.map((claim) => claim.job.id);
}

function jobIds(jobs: readonly Job[]): number[] {
  return jobs.map((job) => job.id);
}

/**
 * The JobQueue contract: every adapter must pass it. Timings are tens of milliseconds with generous upper bounds,
 * so a slow machine passes and a queue that polls lazily or forgets a wake-up fails.
 */
export function jobQueueContract(name: string, make: JobQueueFactory): void {
  describe(`JobQueue contract: ${name}`, () => {
    const fixtures: JobQueueFixture[] = [];
    let queue: JobQueue;
    let channel: string;

    const open = async (maxPendingPerChannel: number, maxPendingTotal?: number): Promise<JobQueue> => {
      const fixture = await make({ maxPendingPerChannel, maxPendingTotal });
      fixtures.push(fixture);
      return fixture.queue;
    };
    const enqueueAll = async (jobs: readonly Job[], to = channel): Promise<void> => {
      for (const job of jobs) await queue.enqueue(job, to);
    };
    const claimNow = (max = 100, from = channel): Promise<ClaimedJob[]> =>
      queue.claim(from, { max, waitMs: 0, leaseMs: LONG_LEASE_MS });

    beforeEach(async () => {
      channel = `ch-${randomUUID()}`;
      queue = await open(CAPACITY);
    });
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.cleanup();
    });

    describe('order', () => {
      it('claims HIGH before MEDIUM before LOW', async () => {
        await enqueueAll([
          testJob(1, { priority: LOW }),
          testJob(2, { priority: MEDIUM }),
          testJob(3, { priority: HIGH }),
          testJob(4, { priority: LOW }),
          testJob(5, { priority: HIGH }),
          testJob(6, { priority: MEDIUM }),
        ]);
        expect(ids(await claimNow(10))).toEqual([3, 5, 2, 6, 1, 4]);
      });

      it('keeps FIFO order within a priority across many claims', async () => {
        const all = Array.from({ length: 50 }, (_, i) => testJob(i + 1));
        await enqueueAll(all);
        const claimed: number[] = [];
        for (let batch = await claimNow(7); batch.length > 0; batch = await claimNow(7)) {
          expect(batch.length).toBeLessThanOrEqual(7);
          claimed.push(...ids(batch));
        }
        expect(claimed).toEqual(jobIds(all));
      });

      it('lets a HIGH job enqueued later overtake waiting MEDIUM jobs', async () => {
        await enqueueAll([testJob(1), testJob(2)]);
        expect(ids(await claimNow(1))).toEqual([1]);
        await queue.enqueue(testJob(3, { priority: HIGH }), channel);
        expect(ids(await claimNow(1))).toEqual([3]);
        expect(ids(await claimNow(1))).toEqual([2]);
      });
    });

    describe('claim', () => {
      it('returns at most max jobs', async () => {
        await enqueueAll([1, 2, 3, 4, 5].map((id) => testJob(id)));
        expect(ids(await claimNow(2))).toEqual([1, 2]);
        expect(ids(await claimNow(10))).toEqual([3, 4, 5]);
        expect(await claimNow(10)).toEqual([]);
      });

      it('returns each job unchanged with its channel, lease end and a unique receipt', async () => {
        const jobs = [testJob(1, { uniqKey: 'k', priority: HIGH, timeout: 250, retried: 2 }), testJob(2), testJob(3)];
        await enqueueAll(jobs);
        const before = Date.now();
        const claims = await queue.claim(channel, { max: 3, waitMs: 0, leaseMs: 30_000 });
        expect(claims.map((claim) => claim.job)).toEqual(jobs);
        for (const claim of claims) {
          expect(claim.channel).toBe(channel);
          expect(claim.leaseUntil).toBeGreaterThanOrEqual(before + 30_000 - 1_000);
          expect(claim.leaseUntil).toBeLessThanOrEqual(Date.now() + 30_000 + 1_000);
          expect(typeof claim.receipt).toBe('string');
        }
        expect(new Set(claims.map((claim) => claim.receipt)).size).toBe(3);
      });

      it('waits for a job and wakes as soon as one is enqueued', async () => {
        const started = performance.now();
        const pending = queue.claim(channel, { max: 10, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
        await sleep(30);
        await queue.enqueue(testJob(1), channel);
        expect(ids(await pending)).toEqual([1]);
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(25);
        expect(elapsed).toBeLessThan(PROMPT_MS);
      });

      it('returns [] when nothing comes within waitMs', async () => {
        const started = performance.now();
        expect(await queue.claim(channel, { max: 1, waitMs: 80, leaseMs: LONG_LEASE_MS })).toEqual([]);
        const elapsed = performance.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(75);
        expect(elapsed).toBeLessThan(80 + 1_000);
      });

      it('returns [] when its signal aborts the wait', async () => {
        const controller = new AbortController();
        const started = performance.now();
        const pending = queue.claim(channel, {
          max: 1,
          waitMs: 10_000,
          leaseMs: LONG_LEASE_MS,
          signal: controller.signal,
        });
        await sleep(30);
        controller.abort();
        expect(await pending).toEqual([]);
        expect(performance.now() - started).toBeLessThan(PROMPT_MS);

        const alreadyAborted = AbortSignal.abort();
        const again = performance.now();
        expect(
          await queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS, signal: alreadyAborted }),
        ).toEqual([]);
        expect(performance.now() - again).toBeLessThan(PROMPT_MS);
      });

      it('gives each job to one of several blocked claimers', async () => {
        const pending = [1, 2, 3].map(() => queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS }));
        await sleep(30);
        await enqueueAll([testJob(1), testJob(2), testJob(3)]);
        const results = await Promise.all(pending);
        expect(results.map((claims) => claims.length)).toEqual([1, 1, 1]);
        expect(results.flatMap(ids).sort((a, b) => a - b)).toEqual([1, 2, 3]);
      });

      it('rejects invalid options with InvalidArgumentError', async () => {
        const options = { max: 1, waitMs: 0, leaseMs: 1_000 };
        await expect(queue.claim(channel, { ...options, max: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(queue.claim(channel, { ...options, waitMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(queue.claim(channel, { ...options, leaseMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    describe('capacity', () => {
      it('rejects jobs beyond maxPendingPerChannel waiting jobs with UnavailableError naming the channel', async () => {
        queue = await open(3);
        await enqueueAll([1, 2, 3].map((id) => testJob(id)));
        const full = queue.enqueue(testJob(4), channel);
        await expect(full).rejects.toBeInstanceOf(UnavailableError);
        await expect(full).rejects.toThrow(channel);
        await queue.enqueue(testJob(5), `${channel}-other`);
        expect(ids(await claimNow(1))).toEqual([1]);
        await queue.enqueue(testJob(4), channel);
        expect(ids(await claimNow(10))).toEqual([2, 3, 4]);
      });

      it('rejects jobs beyond maxPendingTotal in all channels (claimed ones count) with UnavailableError', async () => {
        queue = await open(10, 3);
        await enqueueAll([testJob(1), testJob(2)]);
        await queue.enqueue(testJob(3), `${channel}-b`);
        const full = queue.enqueue(testJob(4), `${channel}-c`);
        await expect(full).rejects.toBeInstanceOf(UnavailableError);
        await expect(full).rejects.toThrow('JOB_QUEUE_MAX_PENDING_TOTAL');
        const [claim] = await claimNow(1);
        await expect(queue.enqueue(testJob(4), `${channel}-c`)).rejects.toBeInstanceOf(UnavailableError);
        await queue.ack(claim!);
        await queue.enqueue(testJob(4), `${channel}-c`);
        expect(await queue.count()).toBe(3);
      });

      it('rejects a job id that is already waiting or claimed with AlreadyExistsError', async () => {
        await queue.enqueue(testJob(1), channel);
        await expect(queue.enqueue(testJob(1), channel)).rejects.toBeInstanceOf(AlreadyExistsError);
        await expect(queue.enqueue(testJob(1), `${channel}-other`)).rejects.toBeInstanceOf(AlreadyExistsError);
        const [claim] = await claimNow(1);
        await expect(queue.enqueue(testJob(1), channel)).rejects.toBeInstanceOf(AlreadyExistsError);
        await queue.ack(claim!);
        await queue.enqueue(testJob(1), channel);
        expect(await queue.count()).toBe(1);
      });
    });

    describe('leases', () => {
      it('re-delivers a job whose lease ran out, with a new receipt; the old one is dead', async () => {
        await queue.enqueue(testJob(1), channel);
        const [first] = await queue.claim(channel, { max: 1, waitMs: 0, leaseMs: 60 });
        const claimedAt = performance.now();
        expect(await claimNow()).toEqual([]);

        const [second] = await queue.claim(channel, { max: 1, waitMs: 5_000, leaseMs: LONG_LEASE_MS });
        const elapsed = performance.now() - claimedAt;
        expect(second?.job.id).toBe(1);
        expect(elapsed).toBeGreaterThanOrEqual(50);
        expect(elapsed).toBeLessThan(60 + PROMPT_MS);
        expect(second!.receipt).not.toBe(first!.receipt);

        expect(await queue.renew(first!, LONG_LEASE_MS)).toBe(false);
        await queue.ack(first!);
        await queue.release(first!);
        expect(await queue.find(1)).toEqual(testJob(1));
        expect(await claimNow()).toEqual([]);
        expect(await queue.renew(second!, LONG_LEASE_MS)).toBe(true);
      });

      it('does not re-deliver a job whose lease is renewed', async () => {
        await queue.enqueue(testJob(1), channel);
        const [claim] = await queue.claim(channel, { max: 1, waitMs: 0, leaseMs: 80 });
        await sleep(40);
        expect(await queue.renew(claim!, 500)).toBe(true);
        // waits until well past the first lease end (80 ms) but within the renewed one
        expect(await queue.claim(channel, { max: 1, waitMs: 160, leaseMs: LONG_LEASE_MS })).toEqual([]);
        expect(await queue.renew(claim!, LONG_LEASE_MS)).toBe(true);
        await queue.ack(claim!);
        expect(await queue.count()).toBe(0);
      });

      it('release makes the job claimable at once, ahead of its priority lane', async () => {
        await enqueueAll([testJob(1), testJob(2)]);
        const [claim] = await claimNow(1);
        await queue.release(claim!);
        const [again] = await claimNow(1);
        expect(again?.job.id).toBe(1);
        expect(again!.receipt).not.toBe(claim!.receipt);
        expect(await queue.renew(claim!, LONG_LEASE_MS)).toBe(false);
        expect(ids(await claimNow())).toEqual([2]);
      });

      it('release wakes a blocked claimer', async () => {
        await queue.enqueue(testJob(1), channel);
        const [claim] = await claimNow(1);
        const started = performance.now();
        const pending = queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
        await sleep(30);
        await queue.release(claim!);
        expect(ids(await pending)).toEqual([1]);
        expect(performance.now() - started).toBeLessThan(PROMPT_MS);
      });

      it('ack forgets the job for good', async () => {
        await queue.enqueue(testJob(1), channel);
        const [claim] = await queue.claim(channel, { max: 1, waitMs: 0, leaseMs: 50 });
        await queue.ack(claim!);
        expect(await queue.find(1)).toBeUndefined();
        expect(await queue.count()).toBe(0);
        expect(await queue.renew(claim!, LONG_LEASE_MS)).toBe(false);
        // past the lease end: nothing comes back
        expect(await queue.claim(channel, { max: 1, waitMs: 150, leaseMs: LONG_LEASE_MS })).toEqual([]);
      });
    });

    describe('admin', () => {
      it('remove, find, list and count cover waiting and claimed jobs', async () => {
        const other = `${channel}-other`;
        const five = testJob(5, { priority: LOW });
        const two = testJob(2, { priority: HIGH });
        const nine = testJob(9);
        const four = testJob(4);
        await queue.enqueue(five, channel);
        await queue.enqueue(two, channel);
        await queue.enqueue(nine, other);
        await queue.enqueue(four, channel);
        expect(ids(await claimNow(1))).toEqual([2]);

        expect(await queue.count()).toBe(4);
        expect(jobIds(await queue.list(0, 10))).toEqual([2, 4, 5, 9]);
        expect(jobIds(await queue.list(1, 2))).toEqual([4, 5]);
        expect(await queue.list(4, 10)).toEqual([]);
        expect(await queue.list(0, 0)).toEqual([]);
        expect(await queue.find(2)).toEqual(two);
        expect(await queue.find(9)).toEqual(nine);
        expect(await queue.find(100)).toBeUndefined();

        expect(await queue.remove(2)).toBe(false);
        expect(await queue.remove(4)).toBe(true);
        expect(await queue.remove(4)).toBe(false);
        expect(await queue.remove(100)).toBe(false);
        expect(await queue.count()).toBe(3);
        expect(await queue.find(4)).toBeUndefined();
        expect(ids(await claimNow())).toEqual([5]);
        expect(ids(await claimNow(100, other))).toEqual([9]);
      });

      it('keeps channels apart', async () => {
        const other = `${channel}-other`;
        await queue.enqueue(testJob(1), channel);
        expect(await claimNow(10, other)).toEqual([]);
        const pending = queue.claim(other, { max: 10, waitMs: 100, leaseMs: LONG_LEASE_MS });
        await queue.enqueue(testJob(2), channel);
        expect(await pending).toEqual([]);
        expect(ids(await claimNow(10))).toEqual([1, 2]);
      });

      it('close wakes blocked claimers with [] and refuses later calls', async () => {
        const started = performance.now();
        const pending = queue.claim(channel, { max: 1, waitMs: 10_000, leaseMs: LONG_LEASE_MS });
        await sleep(30);
        await queue.close();
        expect(await pending).toEqual([]);
        expect(performance.now() - started).toBeLessThan(PROMPT_MS);
        await expect(queue.enqueue(testJob(1), channel)).rejects.toBeInstanceOf(UnavailableError);
        await expect(claimNow()).rejects.toBeInstanceOf(UnavailableError);
        await queue.close();
      });
    });
  });
}
