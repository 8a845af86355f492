import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, Priority, UnavailableError } from '../../core/src/index.js';
import { MemoryQueue } from './memory-queue.js';
import { testJob } from './testing/index.js';

const LONG_LEASE_MS = 60_000;

/** A queue on a clock the test moves by hand. */
function manualClock(): { queue: MemoryQueue; advance: (ms: number) => void; lapsed: Array<[string, number]> } {
  let now = 1_000_000;
  const lapsed: Array<[string, number]> = [];
  const queue = new MemoryQueue({
    maxPendingPerChannel: 1_000,
    now: () => now,
    onLeasesLapsed: (channel, count) => lapsed.push([channel, count]),
  });
  return {
    queue,
    lapsed,
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('MemoryQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says which channel is full, its limit, and what to do', async () => {
    const queue = new MemoryQueue({ maxPendingPerChannel: 2 });
    await queue.enqueue(testJob(1), 'reports');
    await queue.enqueue(testJob(2), 'reports');
    const error: unknown = await queue.enqueue(testJob(3), 'reports').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/"reports".*\b2\b.*JOB_QUEUE_MAX_PENDING.*workers/);
    await queue.close();
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new MemoryQueue({ maxPendingPerChannel: 0 })).toThrow(InvalidArgumentError);
    expect(() => new MemoryQueue({ maxPendingPerChannel: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('moves 200k jobs through in batches in linear time', async () => {
    const count = 200_000;
    const queue = new MemoryQueue({ maxPendingPerChannel: count });
    const priorities = [Priority.PRIORITY_LOW, Priority.PRIORITY_MEDIUM, Priority.PRIORITY_HIGH];
    const started = performance.now();
    for (let id = 1; id <= count; id += 1) await queue.enqueue(testJob(id, { priority: priorities[id % 3]! }), 'bulk');
    let claimed = 0;
    let outOfOrder = 0;
    let lastPriority: Priority = Priority.PRIORITY_HIGH;
    for (;;) {
      const batch = await queue.claim('bulk', { max: 64, waitMs: 0, leaseMs: LONG_LEASE_MS });
      if (batch.length === 0) break;
      for (const claim of batch) {
        if (claim.job.priority > lastPriority) outOfOrder += 1;
        lastPriority = claim.job.priority;
        await queue.ack(claim);
      }
      claimed += batch.length;
    }
    expect(claimed).toBe(count);
    expect(outOfOrder).toBe(0);
    expect(queue.stats()).toEqual({ channels: 0, waiting: 0, leased: 0, claimers: 0 });
    // about 0.5 s here; quadratic behaviour (Array#shift on a long array) takes minutes
    expect(performance.now() - started).toBeLessThan(10_000);
    await queue.close();
  });

  it('notices a lapsed lease lazily: the job returns to the front of its lane, the receipt dies', async () => {
    const { queue, advance, lapsed } = manualClock();
    for (const id of [1, 2, 3]) await queue.enqueue(testJob(id), 'c');
    const [first, second] = await queue.claim('c', { max: 2, waitMs: 0, leaseMs: 100 });
    advance(99);
    expect(await queue.renew(second!, 100)).toBe(true);
    advance(1);
    // job 1's lease ended; it was not taken over yet, but its receipt is dead all the same
    expect(await queue.renew(first!, 100)).toBe(false);
    expect((await queue.list(0, 10)).map((job) => job.id)).toEqual([1, 2, 3]);
    const again = await queue.claim('c', { max: 10, waitMs: 0, leaseMs: 100 });
    expect(again.map((claim) => claim.job.id)).toEqual([1, 3]);
    expect(again[0]!.receipt).not.toBe(first!.receipt);
    expect(lapsed).toEqual([['c', 1]]);
    await queue.ack(first!);
    expect(await queue.count()).toBe(3);
    await queue.close();
  });

  it('wakes a blocked claimer at the lease end and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const queue = new MemoryQueue({ maxPendingPerChannel: 10 });
    await queue.enqueue(testJob(1), 'c');
    const [claim] = await queue.claim('c', { max: 1, waitMs: 0, leaseMs: 1_000 });
    const pending = queue.claim('c', { max: 1, waitMs: 5_000, leaseMs: 1_000 });
    expect(queue.stats().claimers).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(queue.stats()).toMatchObject({ waiting: 0, leased: 1, claimers: 1 });
    await vi.advanceTimersByTimeAsync(1);
    const [redelivered] = await pending;
    expect(redelivered?.receipt).not.toBe(claim!.receipt);
    expect(vi.getTimerCount()).toBe(0);
    await queue.ack(redelivered!);
    expect(queue.stats()).toEqual({ channels: 0, waiting: 0, leased: 0, claimers: 0 });
    await queue.close();
  });

  it('forgets claimers that timed out or were aborted, and idle channels', async () => {
    const queue = new MemoryQueue({ maxPendingPerChannel: 10 });
    const controller = new AbortController();
    setMaxListeners(200, controller.signal);
    const waits = Array.from({ length: 200 }, (_, i) =>
      queue.claim(`c${i % 7}`, {
        max: 1,
        waitMs: i % 2 === 0 ? 5 : 10_000,
        leaseMs: LONG_LEASE_MS,
        signal: controller.signal,
      }),
    );
    expect(queue.stats().claimers).toBe(200);
    controller.abort();
    expect(await Promise.all(waits)).toEqual(waits.map(() => []));
    expect(queue.stats()).toEqual({ channels: 0, waiting: 0, leased: 0, claimers: 0 });
    await queue.close();
  });

  it('drops every job on close', async () => {
    const queue = new MemoryQueue({ maxPendingPerChannel: 10 });
    await queue.enqueue(testJob(1), 'a');
    await queue.enqueue(testJob(2), 'b');
    await queue.claim('a', { max: 1, waitMs: 0, leaseMs: LONG_LEASE_MS });
    await queue.close();
    expect(queue.stats()).toEqual({ channels: 0, waiting: 0, leased: 0, claimers: 0 });
    await expect(queue.count()).rejects.toBeInstanceOf(UnavailableError);
  });
});
