/**
 * Poison jobs: a job whose result the database refuses ends with OTHER_ERROR (published, uniq_key released) instead
 * of running again at every lease end; an outage still leaves the job for a later delivery.
 */
import { describe, expect, it } from 'vitest';
import type { Job, JobResult, Logger, Worker } from '../../core/src/index.js';
import {
  InvalidArgumentError,
  JobStatus,
  NO_RETRY,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  TimeOrderedIdGenerator,
  UnavailableError,
} from '../../core/src/index.js';
import { MemoryJobStateStore, MemoryQueue, MemoryResultBus } from '../../queue/src/index.js';
import type { ResultProcessorDeps } from './result-processor.js';
import { FINISH_ATTEMPTS, ResultProcessor } from './result-processor.js';

const worker: Worker = {
  id: 7,
  name: 'listen',
  runnerId: 1,
  runnerSettings: Buffer.alloc(0),
  retryPolicy: NO_RETRY,
  periodicInterval: 0,
  channel: undefined,
  queueType: QueueType.NORMAL,
  responseType: ResponseType.LISTEN_AFTER,
  storeSuccess: true,
  storeFailure: true,
  nextWorkers: [],
  useStatic: false,
};

const job: Job = {
  id: 42,
  workerId: worker.id,
  args: Buffer.from('args'),
  uniqKey: 'the-key',
  enqueueTime: 1,
  grabbedUntilTime: undefined,
  runAfterTime: 0,
  retried: 0,
  priority: Priority.PRIORITY_MEDIUM,
  timeout: 0,
};

const run = { status: ResultStatus.SUCCESS, output: [Buffer.from('out')], startTime: 2, endTime: 3 };

interface Harness {
  readonly processor: ResultProcessor;
  readonly state: MemoryJobStateStore;
  readonly bus: MemoryResultBus;
  readonly inserts: JobResult[];
  readonly errors: string[];
}

/** A processor whose results repository fails with `refuse` for results that carry args. */
async function harness(refuse: () => Error, databaseAnswers: boolean): Promise<Harness> {
  const state = new MemoryJobStateStore();
  const bus = new MemoryResultBus({ keepMs: 60_000 });
  await state.setStatus(job.id, JobStatus.WAIT_RESULT);
  expect(await state.acquireUniqKey('the-key', job.id)).toBe(true);
  const inserts: JobResult[] = [];
  const errors: string[] = [];
  const note = (obj: object | string, msg?: string): void =>
    void errors.push(typeof obj === 'string' ? obj : (msg ?? ''));
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: note, child: () => logger };
  const deps: ResultProcessorDeps = {
    rows: { upsert: async () => undefined, delete: async () => true, rescheduleIfHeld: async () => true },
    results: {
      insert: async (r) => {
        if (r.args.length > 0) throw refuse();
        inserts.push(r);
      },
    },
    state,
    bus,
    // these jobs come without a claim: they are settled through the state store and the bus
    queue: new MemoryQueue({ maxPendingPerChannel: 10, state, results: bus }),
    router: { enqueue: async () => 'queue' as const },
    findWorker: async () => worker,
    findDefinition: () => undefined,
    ids: new TimeOrderedIdGenerator(1),
    logger,
    pingStorage: async () => {
      if (!databaseAnswers) throw new UnavailableError('database unavailable');
    },
    finishRetryMs: 1,
  };
  return { processor: new ResultProcessor(deps), state, bus, inserts, errors };
}

describe('ResultProcessor with a result the database refuses', () => {
  it.each([
    ['a value too long', () => new InvalidArgumentError('uniq_key is too long for the database; shorten it')],
    [
      'a dropped connection while the database answers',
      () => new UnavailableError('database unavailable: write ECONNRESET'),
    ],
  ])('ends the job with a published OTHER_ERROR result and frees its uniq_key (%s)', async (_what, refuse) => {
    const h = await harness(refuse, true);
    const listened = h.bus.waitForJob(job.id, 5000);
    expect(await h.processor.process(job, worker, run, undefined)).toBe('final');
    const result = (await listened).decode();
    expect(result.status).toBe(ResultStatus.OTHER_ERROR);
    expect(Buffer.from(result.output[0] ?? []).toString()).toContain(
      `storing the result failed ${FINISH_ATTEMPTS} times`,
    );
    // stored without the args and uniq_key the database may refuse
    expect(h.inserts.map((r) => [r.status, r.args.length, r.uniqKey])).toEqual([
      [ResultStatus.OTHER_ERROR, 0, undefined],
    ]);
    expect(await h.state.getStatus(job.id)).toBeUndefined();
    expect(await h.state.acquireUniqKey('the-key', 43)).toBe(true);
    expect(h.errors.some((line) => line.includes('giving up a job'))).toBe(true);
  });

  it('leaves the job for a later delivery while the database is down', async () => {
    const h = await harness(() => new UnavailableError('database unavailable: connect ECONNREFUSED'), false);
    await expect(h.processor.process(job, worker, run, undefined)).rejects.toBeInstanceOf(UnavailableError);
    expect(await h.state.getStatus(job.id)).toBe(JobStatus.WAIT_RESULT);
    expect(await h.state.acquireUniqKey('the-key', 43)).toBe(false);
  });
});

describe('ResultProcessor retry delays', () => {
  it('spreads the retry delay by RETRY_JITTER, both ways around the policy delay', async () => {
    const retrying: Worker = {
      ...worker,
      retryPolicy: { type: RetryType.CONSTANT, interval: 1000, maxInterval: 0, maxRetry: 5, basis: 2 },
    };
    const failed = { status: ResultStatus.ERROR_AND_RETRY, output: [], startTime: 2, endTime: 10_000 };
    const times = [];
    for (const random of [0, 0.5, 0.999999]) {
      const state = new MemoryJobStateStore();
      const bus = new MemoryResultBus({ keepMs: 60_000 });
      await state.setStatus(job.id, JobStatus.RUNNING);
      const rescheduled: number[] = [];
      const noop = (): void => undefined;
      const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
      const processor = new ResultProcessor({
        rows: {
          upsert: async () => undefined,
          delete: async () => true,
          rescheduleIfHeld: async (_id, _held, runAfterTime) => {
            rescheduled.push(runAfterTime);
            return true;
          },
        },
        results: { insert: async () => undefined },
        state,
        bus,
        queue: new MemoryQueue({ maxPendingPerChannel: 10, state, results: bus }),
        router: { enqueue: async () => 'queue' as const },
        findWorker: async () => retrying,
        findDefinition: () => undefined,
        ids: new TimeOrderedIdGenerator(1),
        logger,
        retryJitter: 0.5,
        random: () => random,
      });
      expect(await processor.process({ ...job, uniqKey: undefined }, retrying, failed, 99_999)).toBe('retry');
      times.push(...rescheduled);
    }
    expect(times).toEqual([10_000 + 500, 10_000 + 1000, 10_000 + 1500]);
  });
});
