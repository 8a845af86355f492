import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, JobResult } from '../../../core/src/index.js';
import {
  AlreadyExistsError,
  EncodedJobResult,
  InvalidArgumentError,
  JobStatus,
  Priority,
  UnavailableError,
} from '../../../core/src/index.js';
import type { ChannelStats, ClaimedJob, Completion, JobQueue, JobStateStore, ResultBus } from '../ports.js';
import { testJob } from './test-job.js';
import { testJobResult } from './test-job-result.js';
import { waitUntil } from './wait-until.js';

export interface JobQueueFixture {
  readonly queue: JobQueue;
  /**
   * the state store of the same backend: the queue reserves its uniq keys and sets its statuses there (a fixture may
   * open it on first use)
   */
  readonly state: JobStateStore;
  /** the result bus of the same backend: complete publishes there */
  readonly bus: ResultBus;
  /** Closes the queue, store and bus (they may be closed already) and removes whatever they stored. */
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
    let current: JobQueueFixture;
    let channel: string;
    /** the state store and result bus of the queue opened last (a fixture may open them on first use) */
    const state = (): JobStateStore => current.state;
    const bus = (): ResultBus => current.bus;

    const open = async (maxPendingPerChannel: number, maxPendingTotal?: number): Promise<JobQueue> => {
      const fixture = await make({ maxPendingPerChannel, maxPendingTotal });
      fixtures.push(fixture);
      current = fixture;
      return fixture.queue;
    };
    /** a final completion of the job, with its result for worker 7 */
    const final = (result: JobResult, options: { keep: boolean; uniqKey?: string }): Completion => ({
      continues: false,
      uniqKey: options.uniqKey,
      result: { encoded: EncodedJobResult.of(result), keep: options.keep },
    });
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
      it('returns the trace context a job carries, and none for a job without', async () => {
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const jobs = [
          testJob(1, { trace: { traceparent, tracestate: 'vendor=a b,other=c' } }),
          testJob(2, { trace: { traceparent } }),
          testJob(3),
        ];
        await enqueueAll(jobs);
        const claimed = (await claimNow(3)).map((claim) => claim.job);
        expect(claimed).toEqual(jobs);
        expect(claimed[2]).not.toHaveProperty('trace');
        expect((await queue.find(1))?.trace).toEqual({ traceparent, tracestate: 'vendor=a b,other=c' });
      });

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
        // connected first (a Cluster takes a while on a busy machine), so the claim below is blocked, not connecting
        await queue.count();
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

    describe('status', () => {
      it('is PENDING while waiting, RUNNING while claimed, WAIT_RESULT once marked; undefined when not held', async () => {
        expect(await queue.status(1)).toBeUndefined();
        await queue.enqueue(testJob(1), channel);
        expect(await queue.status(1)).toBe(JobStatus.PENDING);
        const [first] = await claimNow(1);
        expect(await queue.status(1)).toBe(JobStatus.RUNNING);
        expect(await queue.markWaitResult(first!)).toBe(true);
        expect(await queue.status(1)).toBe(JobStatus.WAIT_RESULT);
        // the mark goes with the claim
        await queue.release(first!);
        expect(await queue.status(1)).toBe(JobStatus.PENDING);
        expect(await queue.markWaitResult(first!)).toBe(false);
        const [second] = await claimNow(1);
        expect(await queue.status(1)).toBe(JobStatus.RUNNING);
        await queue.ack(second!);
        expect(await queue.status(1)).toBeUndefined();
      });

      it('statuses lists every job the queue holds, in every channel, ordered by id', async () => {
        const other = `${channel}-other`;
        await queue.enqueue(testJob(5), channel);
        await queue.enqueue(testJob(2, { priority: HIGH }), channel);
        await queue.enqueue(testJob(9), other);
        await queue.enqueue(testJob(7), other);
        const [two] = await claimNow(1);
        expect(await queue.markWaitResult(two!)).toBe(true);
        expect(ids(await claimNow(1, other))).toEqual([9]);
        expect(await queue.statuses()).toEqual([
          { jobId: 2, status: JobStatus.WAIT_RESULT },
          { jobId: 5, status: JobStatus.PENDING },
          { jobId: 7, status: JobStatus.PENDING },
          { jobId: 9, status: JobStatus.RUNNING },
        ]);
      });
    });

    describe('uniq keys', () => {
      it('enqueue reserves the uniq key; a job whose key another holds is refused and leaves nothing behind', async () => {
        await queue.enqueue(testJob(1, { uniqKey: 'nightly' }), channel);
        expect(await state().acquireUniqKey('nightly', 2)).toBe(false);
        const refused = queue.enqueue(testJob(2, { uniqKey: 'nightly' }), channel);
        await expect(refused).rejects.toBeInstanceOf(AlreadyExistsError);
        await expect(refused).rejects.toThrow('nightly');
        expect(await queue.find(2)).toBeUndefined();
        expect(await queue.count()).toBe(1);
        expect(await queue.status(2)).toBeUndefined();
        // a key the job holds already (an RDB row's job brought into the queue) is no obstacle
        expect(await state().acquireUniqKey('mine', 3)).toBe(true);
        await queue.enqueue(testJob(3, { uniqKey: 'mine' }), channel);
        expect(ids(await claimNow(10))).toEqual([1, 3]);
      });

      it('lets exactly one of many concurrent enqueues sharing a uniq key in', async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => queue.enqueue(testJob(i + 1, { uniqKey: 'once' }), channel)),
        );
        const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(refused).toHaveLength(19);
        for (const outcome of refused) expect(outcome.reason).toBeInstanceOf(AlreadyExistsError);
        expect(await queue.count()).toBe(1);
      });

      it('a refused job does not reserve its uniq key', async () => {
        queue = await open(1);
        await queue.enqueue(testJob(1), channel);
        await expect(queue.enqueue(testJob(2, { uniqKey: 'late' }), channel)).rejects.toBeInstanceOf(UnavailableError);
        expect(await state().acquireUniqKey('late', 3)).toBe(true);
      });
    });

    describe('complete', () => {
      it('final: forgets the job, deletes its status, frees its uniq key, publishes its result and keeps it', async () => {
        const result = testJobResult(1, 7);
        await state().setStatus(1, JobStatus.RUNNING);
        await queue.enqueue(testJob(1, { uniqKey: 'k' }), channel);
        const [claim] = await claimNow(1);
        const heard: JobResult[] = [];
        const unsubscribe = await bus().subscribeWorker(7, (r) => heard.push(r.decode()));
        const waiting = bus().waitForJob(1, 10_000);
        expect(await queue.complete(claim!, final(result, { keep: true, uniqKey: 'k' }))).toBe(true);
        expect((await waiting).decode()).toEqual(result);
        await waitUntil(() => heard.length >= 1, 'the result on the worker channel');
        expect(heard).toEqual([result]);
        await unsubscribe();
        expect((await bus().getKept(1))?.decode()).toEqual(result);
        expect(await state().getStatus(1)).toBeUndefined();
        expect(await state().acquireUniqKey('k', 2)).toBe(true);
        expect(await queue.find(1)).toBeUndefined();
        expect(await queue.status(1)).toBeUndefined();
        expect(await queue.count()).toBe(0);
        expect(await queue.complete(claim!, final(result, { keep: true }))).toBe(false);
      });

      it('continues: the status becomes PENDING and the uniq key stays held; a result not kept is not kept', async () => {
        await queue.enqueue(testJob(1, { uniqKey: 'k' }), channel);
        const [claim] = await claimNow(1);
        const completion: Completion = {
          continues: true,
          uniqKey: 'k',
          result: { encoded: EncodedJobResult.of(testJobResult(1, 7)), keep: false },
        };
        expect(await queue.complete(claim!, completion)).toBe(true);
        expect(await state().getStatus(1)).toBe(JobStatus.PENDING);
        expect(await state().acquireUniqKey('k', 2)).toBe(false);
        expect(await bus().getKept(1)).toBeUndefined();
        expect(await queue.find(1)).toBeUndefined();
        expect(await queue.status(1)).toBeUndefined();
      });

      it('does nothing and returns false when the receipt is dead', async () => {
        await state().setStatus(1, JobStatus.RUNNING);
        await queue.enqueue(testJob(1, { uniqKey: 'k' }), channel);
        const [stale] = await claimNow(1);
        await queue.release(stale!);
        const [live] = await claimNow(1);
        expect(await queue.complete(stale!, final(testJobResult(1, 7), { keep: true, uniqKey: 'k' }))).toBe(false);
        expect(await queue.status(1)).toBe(JobStatus.RUNNING);
        expect(await state().getStatus(1)).toBe(JobStatus.RUNNING);
        expect(await state().acquireUniqKey('k', 2)).toBe(false);
        expect(await bus().getKept(1)).toBeUndefined();
        expect(await queue.complete(live!, { continues: false })).toBe(true);
        expect(await queue.count()).toBe(0);
      });

      it('completes and acks made at once all land', async () => {
        await enqueueAll(Array.from({ length: 30 }, (_, i) => testJob(i + 1, { uniqKey: `u${i + 1}` })));
        const claims = await claimNow(30);
        expect(claims).toHaveLength(30);
        const done = await Promise.all(
          claims.map((claim, i) =>
            i % 3 === 0
              ? queue.ack(claim).then(() => true)
              : queue.complete(
                  claim,
                  final(testJobResult(claim.job.id, 7), { keep: i % 2 === 0, uniqKey: `u${claim.job.id}` }),
                ),
          ),
        );
        expect(done.every(Boolean)).toBe(true);
        expect(await queue.count()).toBe(0);
        expect(await queue.statuses()).toEqual([]);
        expect((await bus().getKept(3))?.decode()).toEqual(testJobResult(3, 7));
        expect(await bus().getKept(2)).toBeUndefined();
        expect(await state().acquireUniqKey('u2', 99)).toBe(true);
        // an ack leaves the uniq key to its caller
        expect(await state().acquireUniqKey('u1', 99)).toBe(false);
      });
    });

    describe('cancel', () => {
      it('removes and returns a waiting job; announces a claimed one; absent otherwise', async () => {
        const heard: number[] = [];
        const unsubscribe = await state().onCancel((jobId) => heard.push(jobId));
        await enqueueAll([testJob(1), testJob(2)]);
        const [claim] = await claimNow(1);

        expect(await queue.cancel(2)).toEqual({ state: 'waiting', job: testJob(2) });
        expect(await queue.find(2)).toBeUndefined();
        expect(await claimNow()).toEqual([]);

        expect(await queue.cancel(1)).toEqual({ state: 'claimed' });
        await waitUntil(() => heard.includes(1), 'the cancellation of the claimed job');
        expect(heard).toEqual([1]);
        expect(await queue.status(1)).toBe(JobStatus.RUNNING);

        expect(await queue.cancel(3)).toEqual({ state: 'absent' });
        await queue.ack(claim!);
        expect(await queue.cancel(1)).toEqual({ state: 'absent' });
        await unsubscribe();
      });
    });

    describe('channel stats', () => {
      it('counts waiting and claimed jobs, the oldest waiting job and the claims ended in the last minute', async () => {
        const other = `${channel}-other`;
        const now = Date.now();
        await enqueueAll([
          testJob(1, { enqueueTime: now - 1_000 }),
          testJob(2, { enqueueTime: now - 1_000, priority: HIGH }),
          testJob(3, { enqueueTime: now - 1_000 }),
          // ready since its run_after_time, not since it was enqueued
          testJob(4, { enqueueTime: now - 60_000, runAfterTime: now - 30_000, priority: LOW }),
        ]);
        await queue.enqueue(testJob(5, { enqueueTime: now }), other);
        const claims = await claimNow(3);
        expect(ids(claims)).toEqual([2, 1, 3]);
        await queue.ack(claims[0] as ClaimedJob);
        expect(await queue.complete(claims[1] as ClaimedJob, { continues: false })).toBe(true);
        // a dead receipt ends nothing and counts nothing
        expect(await queue.complete({ ...(claims[1] as ClaimedJob), receipt: 'stale' }, { continues: false })).toBe(
          false,
        );

        const stats = await queue.channelStats([channel, other, `${channel}-none`]);
        expect(stats.map((s) => [s.channel, s.waiting, s.running])).toEqual([
          [channel, 1, 1],
          [other, 1, 0],
          [`${channel}-none`, 0, 0],
        ]);
        const [mine, theirs, none] = stats as [ChannelStats, ChannelStats, ChannelStats];
        expect(mine.oldestWaitingMs).toBeGreaterThanOrEqual(29_000);
        expect(mine.oldestWaitingMs).toBeLessThan(40_000);
        expect(mine.completedPerSecond).toBeCloseTo(2 / 60, 6);
        expect(theirs.oldestWaitingMs).toBeLessThan(10_000);
        expect(theirs.completedPerSecond).toBe(0);
        expect(none).toEqual({
          channel: `${channel}-none`,
          waiting: 0,
          running: 0,
          oldestWaitingMs: 0,
          completedPerSecond: 0,
        });
      });

      it('skips a removed job at the head of a lane when it finds the oldest waiting job', async () => {
        const now = Date.now();
        await enqueueAll([testJob(1, { enqueueTime: now - 50_000 }), testJob(2, { enqueueTime: now - 2_000 })]);
        expect(await queue.remove(1)).toBe(true);
        const [stats] = await queue.channelStats([channel]);
        expect(stats?.oldestWaitingMs).toBeGreaterThanOrEqual(1_000);
        expect(stats?.oldestWaitingMs).toBeLessThan(20_000);
      });

      it('without channels, reports every channel with jobs waiting, claimed or ended lately, by name', async () => {
        const [a, b, c] = [`${channel}-a`, `${channel}-b`, `${channel}-c`];
        await queue.enqueue(testJob(1), c);
        await queue.enqueue(testJob(2), a);
        await queue.enqueue(testJob(3), b);
        const [claimed] = await claimNow(1, b);
        await queue.ack(claimed as ClaimedJob);
        await queue.enqueue(testJob(4), `${channel}-d`);
        await queue.claim(`${channel}-d`, { max: 1, waitMs: 0, leaseMs: LONG_LEASE_MS });
        const stats = await queue.channelStats();
        expect(stats.map((s) => [s.channel, s.waiting, s.running])).toEqual([
          [a, 1, 0],
          [b, 0, 0],
          [c, 1, 0],
          [`${channel}-d`, 0, 1],
        ]);
        expect(stats[1]?.completedPerSecond).toBeCloseTo(1 / 60, 6);
      });
    });

    describe('remove', () => {
      it('a removed job may come back, in its channel or another, and is claimed once, where it now is', async () => {
        const other = `${channel}-other`;
        await queue.enqueue(testJob(1), channel);
        expect(await queue.remove(1)).toBe(true);
        await queue.enqueue(testJob(1), other);
        expect(await claimNow()).toEqual([]);
        expect(ids(await claimNow(10, other))).toEqual([1]);

        await queue.enqueue(testJob(2), channel);
        expect(await queue.remove(2)).toBe(true);
        await queue.enqueue(testJob(2, { priority: LOW }), channel);
        await queue.enqueue(testJob(3), channel);
        expect(ids(await claimNow(10))).toEqual([3, 2]);
        expect(await claimNow(10)).toEqual([]);
      });
    });
  });
}
