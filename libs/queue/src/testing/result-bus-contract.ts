import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobResult } from '../../../core/src/index.js';
import { DeadlineExceededError, UnavailableError } from '../../../core/src/index.js';
import type { ResultBus } from '../ports.js';
import { testJobResult } from './test-job-result.js';
import { waitUntil } from './wait-until.js';

export interface ResultBusFixture {
  readonly bus: ResultBus;
  /** Closes the bus (it may be closed already) and removes whatever it stored. */
  cleanup(): Promise<void>;
}

/** Makes a fresh bus isolated from every other (its own key prefix and channels on a shared backend). */
export type ResultBusFactory = (options: { readonly keepMs: number }) => Promise<ResultBusFixture>;

const KEEP_MS = 60_000;
/** a wait for something that should happen at once; generous for a loaded machine */
const PROMPT_MS = 2_000;

/** The ResultBus contract: every adapter must pass it. */
export function resultBusContract(name: string, make: ResultBusFactory): void {
  describe(`ResultBus contract: ${name}`, () => {
    const fixtures: ResultBusFixture[] = [];
    let bus: ResultBus;

    const open = async (keepMs: number): Promise<ResultBus> => {
      const fixture = await make({ keepMs });
      fixtures.push(fixture);
      return fixture.bus;
    };

    beforeEach(async () => {
      bus = await open(KEEP_MS);
    });
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.cleanup();
    });

    describe('waitForJob', () => {
      it('resolves a waiter that came before the result, even when it is not kept', async () => {
        const result = testJobResult(1, 7);
        const pending = bus.waitForJob(1, 10_000);
        await sleep(10);
        await bus.publish(result, { keep: false });
        expect(await pending).toEqual(result);
      });

      it('resolves a waiter that comes after a kept result at once', async () => {
        const result = testJobResult(1, 7);
        await bus.publish(result, { keep: true });
        expect(await bus.getKept(1)).toEqual(result);
        const started = performance.now();
        expect(await bus.waitForJob(1, 10_000)).toEqual(result);
        expect(performance.now() - started).toBeLessThan(PROMPT_MS);
      });

      it('keeps nothing when keep is false', async () => {
        await bus.publish(testJobResult(1, 7), { keep: false });
        expect(await bus.getKept(1)).toBeUndefined();
        // on a Redis Cluster the message still travels the cluster bus to other nodes after publish returns; a
        // waiter that subscribes meanwhile may get it. Once it has arrived everywhere, a new waiter finds nothing.
        await sleep(200);
        await expect(bus.waitForJob(1, 50)).rejects.toBeInstanceOf(DeadlineExceededError);
      });

      it('resolves every waiter of the job, and no waiter of another job', async () => {
        const result = testJobResult(1, 7);
        const waiters = Array.from({ length: 25 }, () => bus.waitForJob(1, 10_000));
        const other = bus.waitForJob(2, 300);
        await sleep(10);
        await bus.publish(result, { keep: false });
        for (const got of await Promise.all(waiters)) expect(got).toEqual(result);
        await expect(other).rejects.toBeInstanceOf(DeadlineExceededError);
      });

      it('rejects with DeadlineExceededError when the timeout passes, on time', async () => {
        const started = performance.now();
        const error: unknown = await bus.waitForJob(3, 100).catch((e: unknown) => e);
        const elapsed = performance.now() - started;
        expect(error).toBeInstanceOf(DeadlineExceededError);
        expect((error as Error).message).toMatch(/\b3\b.*\b100 ms\b/);
        expect(elapsed).toBeGreaterThanOrEqual(95);
        expect(elapsed).toBeLessThan(100 + 500);
      });

      it("rejects with the signal's reason when aborted", async () => {
        const controller = new AbortController();
        const reason = new Error('client went away');
        const pending = bus.waitForJob(1, 10_000, controller.signal);
        await sleep(20);
        controller.abort(reason);
        await expect(pending).rejects.toBe(reason);

        const early = new Error('aborted before');
        await expect(bus.waitForJob(1, 10_000, AbortSignal.abort(early))).rejects.toBe(early);
      });
    });

    describe('kept results', () => {
      it('are forgotten after keepMs', async () => {
        const shortBus = await open(100);
        await shortBus.publish(testJobResult(1, 7), { keep: true });
        expect(await shortBus.getKept(1)).toBeDefined();
        await sleep(250);
        expect(await shortBus.getKept(1)).toBeUndefined();
      });
    });

    describe('subscribeWorker', () => {
      it("gets only its worker's results, until unsubscribed", async () => {
        const heard: number[] = [];
        const unsubscribe = await bus.subscribeWorker(7, (result) => heard.push(result.jobId));
        await bus.publish(testJobResult(1, 7), { keep: false });
        await bus.publish(testJobResult(2, 8), { keep: true });
        await bus.publish(testJobResult(3, 7), { keep: true });
        await waitUntil(() => heard.length >= 2, 'results of worker 7');
        expect(heard).toEqual([1, 3]);

        await unsubscribe();
        const witness: number[] = [];
        const unsubscribeWitness = await bus.subscribeWorker(7, (result) => witness.push(result.jobId));
        await bus.publish(testJobResult(4, 7), { keep: false });
        await waitUntil(() => witness.length >= 1, 'the witness subscription');
        expect(witness).toEqual([4]);
        expect(heard).toEqual([1, 3]);
        await unsubscribeWitness();
      });

      it('keeps calling the other handlers when one throws', async () => {
        const heard: JobResult[] = [];
        const unsubscribeBad = await bus.subscribeWorker(7, () => {
          throw new Error('handler failure (expected by the test)');
        });
        const unsubscribeGood = await bus.subscribeWorker(7, (result) => heard.push(result));
        await bus.publish(testJobResult(1, 7), { keep: false });
        await waitUntil(() => heard.length >= 1, 'the good handler');
        expect(heard).toEqual([testJobResult(1, 7)]);
        await unsubscribeBad();
        await unsubscribeGood();
      });
    });

    it('close rejects pending waiters with UnavailableError and refuses later calls', async () => {
      const pending = bus.waitForJob(1, 10_000);
      await sleep(10);
      await bus.close();
      await expect(pending).rejects.toBeInstanceOf(UnavailableError);
      await expect(bus.publish(testJobResult(1, 7), { keep: true })).rejects.toBeInstanceOf(UnavailableError);
      await bus.close();
    });
  });
}
