import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceededError, InvalidArgumentError } from '../../core/src/index.js';
import { MemoryResultBus } from './memory-result-bus.js';
import { testJobResult } from './testing/index.js';

describe('MemoryResultBus', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves no waiter, subscription or timer behind, however a wait ends', async () => {
    vi.useFakeTimers();
    const bus = new MemoryResultBus({ keepMs: 60_000 });
    const sweepTimers = vi.getTimerCount();
    const controller = new AbortController();
    // settled at once, so the rejections are handled as they happen
    const published = Promise.all(Array.from({ length: 200 }, (_, i) => bus.waitForJob(i, 10_000)));
    const timedOut = Promise.allSettled(Array.from({ length: 200 }, (_, i) => bus.waitForJob(1_000 + i, 50)));
    const aborted = Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => bus.waitForJob(2_000 + i, 10_000, controller.signal)),
    );
    const unsubscribe = await bus.subscribeWorker(7, () => {});
    expect(bus.stats()).toEqual({ kept: 0, waitedJobs: 500, subscribedWorkers: 1 });

    for (let i = 0; i < 200; i += 1) await bus.publish(testJobResult(i, 7), { keep: false });
    await vi.advanceTimersByTimeAsync(50);
    controller.abort();
    await unsubscribe();

    expect((await published).length).toBe(200);
    for (const outcome of await timedOut) {
      expect(outcome.status === 'rejected' && outcome.reason instanceof DeadlineExceededError).toBe(true);
    }
    for (const outcome of await aborted) expect(outcome.status).toBe('rejected');
    expect(bus.stats()).toEqual({ kept: 0, waitedJobs: 0, subscribedWorkers: 0 });
    expect(vi.getTimerCount()).toBe(sweepTimers);
    await bus.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps at most maxKept results, dropping the oldest', async () => {
    const bus = new MemoryResultBus({ keepMs: 60_000, maxKept: 3 });
    for (const jobId of [1, 2, 3, 4]) await bus.publish(testJobResult(jobId, 7), { keep: true });
    await bus.publish(testJobResult(2, 7), { keep: true }); // published again: now the newest
    await bus.publish(testJobResult(5, 7), { keep: true });
    const kept = await Promise.all([1, 2, 3, 4, 5].map(async (jobId) => (await bus.getKept(jobId)) !== undefined));
    expect(kept).toEqual([false, true, false, true, true]);
    expect(bus.stats().kept).toBe(3);
    await bus.close();
  });

  it('drops expired results when read and when anything is published', async () => {
    let now = 1_000_000;
    const bus = new MemoryResultBus({ keepMs: 1_000, now: () => now });
    await bus.publish(testJobResult(1, 7), { keep: true });
    await bus.publish(testJobResult(2, 7), { keep: true });
    now += 999;
    expect(await bus.getKept(1)).toBeDefined();
    now += 1;
    expect(await bus.getKept(1)).toBeUndefined();
    expect(bus.stats().kept).toBe(1);
    await bus.publish(testJobResult(3, 7), { keep: false });
    expect(bus.stats().kept).toBe(0);
    await bus.close();
  });

  it('reports a throwing handler to onHandlerError and still calls the others', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryResultBus({ keepMs: 1_000, onHandlerError: (error) => errors.push(error) });
    const boom = new Error('boom');
    const heard: number[] = [];
    await bus.subscribeWorker(7, () => {
      throw boom;
    });
    await bus.subscribeWorker(7, (result) => heard.push(result.jobId));
    await bus.publish(testJobResult(1, 7), { keep: false });
    expect(errors).toEqual([boom]);
    expect(heard).toEqual([1]);
    await bus.close();
  });

  it('handles edge timeouts: 0 still sees a kept result, Infinity waits, negatives are refused', async () => {
    const bus = new MemoryResultBus({ keepMs: 60_000 });
    await bus.publish(testJobResult(1, 7), { keep: true });
    expect((await bus.waitForJob(1, 0)).jobId).toBe(1);
    await expect(bus.waitForJob(2, 0)).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(bus.waitForJob(2, -1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bus.waitForJob(2, Number.NaN)).rejects.toBeInstanceOf(InvalidArgumentError);
    const forever = bus.waitForJob(3, Infinity);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await bus.publish(testJobResult(3, 7), { keep: false });
    expect((await forever).jobId).toBe(3);
    await bus.close();
  });

  it('wraps a non-Error abort reason in an Error', async () => {
    const bus = new MemoryResultBus({ keepMs: 60_000 });
    const controller = new AbortController();
    const pending = bus.waitForJob(1, 10_000, controller.signal);
    controller.abort('client left');
    await expect(pending).rejects.toThrow('client left');
    await bus.close();
  });
});
