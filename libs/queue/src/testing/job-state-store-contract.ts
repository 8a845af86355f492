import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStatus } from '../../../core/src/index.js';
import type { JobStateStore } from '../ports.js';
import { waitUntil } from './wait-until.js';

export interface JobStateStoreFixture {
  readonly store: JobStateStore;
  /** Closes the store (it may be closed already) and removes whatever it stored. */
  cleanup(): Promise<void>;
}

/** Makes a fresh, empty store isolated from every other (its own key prefix on a shared backend). */
export type JobStateStoreFactory = () => Promise<JobStateStoreFixture>;

/** The JobStateStore contract: every adapter must pass it. */
export function jobStateStoreContract(name: string, make: JobStateStoreFactory): void {
  describe(`JobStateStore contract: ${name}`, () => {
    let fixture: JobStateStoreFixture;
    let store: JobStateStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('statuses', () => {
      it("follows a job's status through its transitions", async () => {
        expect(await store.getStatus(1)).toBeUndefined();
        for (const status of [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.WAIT_RESULT, JobStatus.PENDING]) {
          await store.setStatus(1, status);
          expect(await store.getStatus(1)).toBe(status);
        }
        await store.deleteStatus(1);
        expect(await store.getStatus(1)).toBeUndefined();
        await store.deleteStatus(1);
      });

      it('lists unfinished jobs ordered by id', async () => {
        await store.setStatus(50, JobStatus.RUNNING);
        await store.setStatus(2, JobStatus.PENDING);
        await store.setStatus(9, JobStatus.WAIT_RESULT);
        await store.setStatus(10, JobStatus.PENDING);
        await store.deleteStatus(9);
        expect(await store.listStatuses()).toEqual([
          { jobId: 2, status: JobStatus.PENDING },
          { jobId: 10, status: JobStatus.PENDING },
          { jobId: 50, status: JobStatus.RUNNING },
        ]);
      });
    });

    describe('uniq keys', () => {
      it('are held by one job until it releases them', async () => {
        expect(await store.acquireUniqKey('k', 1)).toBe(true);
        expect(await store.acquireUniqKey('k', 1)).toBe(true);
        expect(await store.acquireUniqKey('k', 2)).toBe(false);
        expect(await store.acquireUniqKey('other', 2)).toBe(true);

        await store.releaseUniqKey('k', 2);
        expect(await store.acquireUniqKey('k', 3)).toBe(false);

        await store.releaseUniqKey('k', 1);
        expect(await store.acquireUniqKey('k', 3)).toBe(true);
        expect(await store.acquireUniqKey('k', 1)).toBe(false);
        expect(await store.acquireUniqKey('other', 3)).toBe(false);
      });
    });

    describe('cancellation', () => {
      it('tells every listener and marks the job cancelled until the ttl passes', async () => {
        const first: number[] = [];
        const second: number[] = [];
        const unsubscribeFirst = await store.onCancel((jobId) => first.push(jobId));
        const unsubscribeSecond = await store.onCancel((jobId) => second.push(jobId));
        await store.cancel(7, 150);
        await waitUntil(() => first.length >= 1 && second.length >= 1, 'both cancel listeners');
        expect(first).toEqual([7]);
        expect(second).toEqual([7]);
        expect(await store.isCancelled(7)).toBe(true);
        expect(await store.isCancelled(8)).toBe(false);
        await sleep(300);
        expect(await store.isCancelled(7)).toBe(false);
        await unsubscribeFirst();
        await unsubscribeSecond();
      });

      it('marks without telling anyone when the announcement is left to the queue', async () => {
        const heard: number[] = [];
        const unsubscribe = await store.onCancel((jobId) => heard.push(jobId));
        await store.cancel(10, 10_000, { announce: false });
        await store.cancel(11, 10_000);
        await waitUntil(() => heard.length >= 1, 'the announced cancellation');
        // on a Cluster, messages may travel different ways: give one about 10 the time to arrive
        await sleep(200);
        expect(heard).toEqual([11]);
        expect(await store.isCancelled(10)).toBe(true);
        await unsubscribe();
      });

      it('stops telling a listener that unsubscribed', async () => {
        const gone: number[] = [];
        const witness: number[] = [];
        const unsubscribeGone = await store.onCancel((jobId) => gone.push(jobId));
        const unsubscribeWitness = await store.onCancel((jobId) => witness.push(jobId));
        await unsubscribeGone();
        await store.cancel(8, 10_000);
        await waitUntil(() => witness.length >= 1, 'the witness listener');
        expect(witness).toEqual([8]);
        expect(gone).toEqual([]);
        await unsubscribeWitness();
      });

      it('keeps telling the other listeners when one throws', async () => {
        const heard: number[] = [];
        const unsubscribeBad = await store.onCancel(() => {
          throw new Error('listener failure (expected by the test)');
        });
        const unsubscribeGood = await store.onCancel((jobId) => heard.push(jobId));
        await store.cancel(9, 10_000);
        await waitUntil(() => heard.length >= 1, 'the good listener');
        expect(heard).toEqual([9]);
        expect(await store.isCancelled(9)).toBe(true);
        await unsubscribeBad();
        await unsubscribeGood();
      });
    });
  });
}
