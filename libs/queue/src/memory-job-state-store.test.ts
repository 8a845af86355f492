import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, JobStatus, UnavailableError } from '../../core/src/index.js';
import { MemoryJobStateStore } from './memory-job-state-store.js';

describe('MemoryJobStateStore', () => {
  it('notifies cancel listeners synchronously and reports a throwing one to onHandlerError', async () => {
    const errors: unknown[] = [];
    const store = new MemoryJobStateStore({ onHandlerError: (error) => errors.push(error) });
    const boom = new Error('boom');
    const heard: number[] = [];
    await store.onCancel(() => {
      throw boom;
    });
    await store.onCancel((jobId) => heard.push(jobId));
    const cancelling = store.cancel(4, 1_000);
    expect(heard).toEqual([4]); // before cancel() even resolves
    await cancelling;
    expect(errors).toEqual([boom]);
    await store.close();
  });

  it('forgets a cancellation exactly when its ttl passes', async () => {
    let now = 1_000_000;
    const store = new MemoryJobStateStore({ now: () => now });
    await store.cancel(1, 500);
    now += 499;
    expect(await store.isCancelled(1)).toBe(true);
    now += 1;
    expect(await store.isCancelled(1)).toBe(false);
    await expect(store.cancel(1, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await store.close();
  });

  it('refuses calls after close', async () => {
    const store = new MemoryJobStateStore();
    await store.setStatus(1, JobStatus.RUNNING);
    await store.close();
    await expect(store.getStatus(1)).rejects.toBeInstanceOf(UnavailableError);
  });
});
