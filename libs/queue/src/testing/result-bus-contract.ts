import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobResult } from '../../../core/src/index.js';
import { DeadlineExceededError, EncodedJobResult, encodeJobResult, UnavailableError } from '../../../core/src/index.js';
import type { ResultBus } from '../ports.js';
import { testJobResult } from './test-job-result.js';
import { waitUntil } from './wait-until.js';

export interface ResultBusFixture {
  readonly bus: ResultBus;
  /** Closes the bus (it may be closed already) and removes whatever it stored. */
  cleanup(): Promise<void>;
  /**
   * For a bus whose results travel as bytes through a shared backend: writes bytes where the bus reads results, as
   * another process (or something that is not a jobworkerp process) could, bypassing publish.
   */
  readonly raw?: RawResultAccess | undefined;
}

export interface RawResultAccess {
  /** Sends the bytes as a message on the result channel of a job or of a worker. */
  send(channel: { readonly job: number } | { readonly worker: number }, bytes: Uint8Array): Promise<void>;
  /** Stores the bytes as the kept result of the job. */
  keep(jobId: number, bytes: Uint8Array): Promise<void>;
}

/**
 * Makes a fresh bus isolated from every other (its own key prefix and channels on a shared backend) that reports
 * handler errors and dropped messages to `onHandlerError`.
 */
export type ResultBusFactory = (options: {
  readonly keepMs: number;
  readonly onHandlerError: (error: unknown) => void;
}) => Promise<ResultBusFixture>;

const KEEP_MS = 60_000;
/** a wait for something that should happen at once; generous for a loaded machine */
const PROMPT_MS = 2_000;

/** The ResultBus contract: every adapter must pass it. */
export function resultBusContract(name: string, make: ResultBusFactory): void {
  describe(`ResultBus contract: ${name}`, () => {
    const fixtures: ResultBusFixture[] = [];
    let bus: ResultBus;
    let raw: RawResultAccess | undefined;
    /** what the buses reported through onHandlerError */
    let reported: Error[];

    const open = async (keepMs: number): Promise<ResultBusFixture> => {
      const fixture = await make({ keepMs, onHandlerError: (error) => reported.push(error as Error) });
      fixtures.push(fixture);
      return fixture;
    };

    beforeEach(async () => {
      reported = [];
      ({ bus, raw } = await open(KEEP_MS));
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
        expectResult(await pending, result);
      });

      it('resolves a waiter that comes after a kept result at once', async () => {
        const result = testJobResult(1, 7);
        await bus.publish(result, { keep: true });
        expectResult(await bus.getKept(1), result);
        const started = performance.now();
        expectResult(await bus.waitForJob(1, 10_000), result);
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
        for (const got of await Promise.all(waiters)) expectResult(got, result);
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
        const { bus: shortBus } = await open(100);
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
        reported = [];
        const unsubscribeBad = await bus.subscribeWorker(7, () => {
          throw new Error('handler failure (expected by the test)');
        });
        const unsubscribeGood = await bus.subscribeWorker(7, (result) => heard.push(result.decode()));
        await bus.publish(testJobResult(1, 7), { keep: false });
        await waitUntil(() => heard.length >= 1, 'the good handler');
        expect(heard).toEqual([testJobResult(1, 7)]);
        expect(reported.map((e) => e.message)).toEqual(['handler failure (expected by the test)']);
        await unsubscribeBad();
        await unsubscribeGood();
      });
    });

    describe('results as bytes', () => {
      it('hands out the JobResult message encoded once, and decodes it once, on demand', async () => {
        const result = testJobResult(1, 7, { uniqKey: 'nightly', workerName: 'wörker ✓' });
        const pending = bus.waitForJob(1, 10_000);
        await sleep(10);
        await bus.publish(result, { keep: true });
        const got = await pending;
        expectResult(got, result);
        expect(got.decode()).toBe(got.decode());
        expectResult(await bus.getKept(1), result);
      });

      it('publishes an already encoded result as it is', async () => {
        const bytes = encodeJobResult(testJobResult(2, 7));
        const heard: Uint8Array[] = [];
        const unsubscribe = await bus.subscribeWorker(7, (r) => heard.push(r.bytes));
        await bus.publish(EncodedJobResult.parse(bytes), { keep: true });
        expect(Buffer.from((await bus.waitForJob(2, 10_000)).bytes)).toEqual(Buffer.from(bytes));
        await waitUntil(() => heard.length >= 1, 'the worker subscription');
        expect(heard.map((b) => Buffer.from(b))).toEqual([Buffer.from(bytes)]);
        await unsubscribe();
      });
    });

    describe('bytes that did not come from publish', () => {
      it('drops a message that is not a JobResult, and one about another job or worker, and says so', async (ctx) => {
        if (raw === undefined) ctx.skip();
        const heard: number[] = [];
        const unsubscribe = await bus.subscribeWorker(7, (r) => heard.push(r.jobId));
        const waiting = bus.waitForJob(1, 10_000);
        await sleep(100);
        const garbage = Buffer.from('not a protobuf message at all \xff');
        await raw!.send({ job: 1 }, garbage);
        await raw!.send({ worker: 7 }, garbage);
        await raw!.send({ job: 1 }, encodeJobResult(testJobResult(2, 7)));
        await raw!.send({ worker: 7 }, encodeJobResult(testJobResult(3, 8)));
        await waitUntil(() => reported.length >= 4, 'the four dropped messages');
        const messages = reported.map((e) => e.message).sort();
        expect(messages).toEqual([
          expect.stringMatching(/^dropped a result for job 1: it is a result of job 2$/),
          expect.stringMatching(/^dropped a result for job 1: the bytes are not a jobworkerp\.data\.JobResult: /),
          expect.stringMatching(/^dropped a result for worker 7: it is a result of worker 8$/),
          expect.stringMatching(/^dropped a result for worker 7: the bytes are not a jobworkerp\.data\.JobResult: /),
        ]);
        expect(heard).toEqual([]);
        // the real result still arrives
        await bus.publish(testJobResult(1, 7), { keep: false });
        expectResult(await waiting, testJobResult(1, 7));
        await waitUntil(() => heard.length >= 1, 'the real result on the worker channel');
        expect(heard).toEqual([1]);
        await unsubscribe();
      });

      it('treats a kept value that is not a JobResult of the job as no kept result', async (ctx) => {
        if (raw === undefined) ctx.skip();
        await raw!.keep(1, Buffer.from([0x0a, 0x05, 0x08]));
        await raw!.keep(2, encodeJobResult(testJobResult(3, 7)));
        expect(await bus.getKept(1)).toBeUndefined();
        expect(await bus.getKept(2)).toBeUndefined();
        await expect(bus.waitForJob(1, 300)).rejects.toBeInstanceOf(DeadlineExceededError);
        expect(reported.length).toBeGreaterThanOrEqual(3);
        expect(reported[1]?.message).toBe('dropped a result for job 2: it is a result of job 3');
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

/** The result as the bus hands it out: the JobResult message as encodeJobResult writes it, decoding to the result. */
function expectResult(got: EncodedJobResult | undefined, result: JobResult): void {
  expect(got).toBeInstanceOf(EncodedJobResult);
  expect(Buffer.from(got!.bytes)).toEqual(Buffer.from(encodeJobResult(result)));
  expect([got!.jobId, got!.workerId]).toEqual([result.jobId, result.workerId]);
  expect(got!.decode()).toEqual(result);
}
