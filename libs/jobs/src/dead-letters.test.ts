/**
 * Dead letters in process: the job lifecycle on the memory adapters and a SQLite file in a temp folder, driven the
 * way the engine drives it (claim → begin → end), then listed, requeued and purged through JobLifecycle.deadLetters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../config/src/index.js';
import type { Job, JobResult, RetryPolicy, Worker, WorkerSpec } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  JobStatus,
  NO_RETRY,
  NotFoundError,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  RunnerType,
  silentLogger,
  TimeOrderedIdGenerator,
  UnavailableError,
} from '../../core/src/index.js';
import { MemoryJobStateStore, MemoryQueue, MemoryResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openStorage } from '../../storage/src/index.js';
import type { DeadLetterSettings } from './dead-letters.js';
import type { RunTicket } from './job-lifecycle.js';
import { JobLifecycle } from './job-lifecycle.js';
import { FINISH_ATTEMPTS } from './result-processor.js';

const LEASE_MS = 30_000;
const bytes = (s: string): Uint8Array => Buffer.from(s);
const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();
const DEFAULTS: DeadLetterSettings = { enabled: true, retentionMs: 86_400_000, maxCount: 1000 };

let dir: string;
let storage: Storage;
let definition: RunnerDefinition;
let clock: number;
let queue: MemoryQueue;
let state: MemoryJobStateStore;
let bus: MemoryResultBus;
let ids: TimeOrderedIdGenerator;
let lifecycle: JobLifecycle;
let workerNo = 0;

function open(settings: DeadLetterSettings = DEFAULTS): void {
  lifecycle = new JobLifecycle({
    storage,
    queue,
    state,
    bus,
    ids,
    logger: silentLogger,
    findDefinition: (id) => (id === definition.id ? definition : undefined),
    cancelTtlMs: 60_000,
    deadLetters: settings,
    workerCacheMs: 0,
    finishRetryMs: 1,
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-dead-'));
  storage = await openStorage({ kind: 'sqlite', path: join(dir, 'jobworkerp.sqlite3') });
  await storage.migrate();
  ids = new TimeOrderedIdGenerator(3);
  const runner = await storage.runners.upsertByName(
    { name: 'DeadLetterTest', type: RunnerType.PLUGIN, settingsProto: '', argsProto: '', resultProto: undefined },
    () => ids.next(),
  );
  definition = {
    ...runner,
    create: () => {
      throw new Error('the lifecycle never runs a runner itself');
    },
  };
  clock = Date.now();
  state = new MemoryJobStateStore();
  bus = new MemoryResultBus({ keepMs: 60_000 });
  queue = new MemoryQueue({ maxPendingPerChannel: 1000, now: () => clock, state, results: bus });
  open();
});

afterEach(async () => {
  await Promise.all([queue.close(), state.close(), bus.close()]);
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function addWorker(spec: Partial<WorkerSpec> = {}): Promise<Worker> {
  workerNo += 1;
  return storage.workers.create({
    name: `dead-${workerNo}`,
    runnerId: definition.id,
    runnerSettings: new Uint8Array(),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    // dead letters are kept whatever store_failure says
    storeFailure: false,
    nextWorkers: [],
    useStatic: false,
    ...spec,
  });
}

function newJob(worker: Worker, job: Partial<Job> = {}): Job {
  return {
    id: ids.next(),
    workerId: worker.id,
    args: bytes('args'),
    uniqKey: undefined,
    enqueueTime: Date.now(),
    grabbedUntilTime: undefined,
    runAfterTime: 0,
    retried: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
    ...job,
  };
}

async function beginOne(): Promise<RunTicket> {
  const claims = await lifecycle.claim(DEFAULT_CHANNEL, { max: 1, waitMs: 0, leaseMs: LEASE_MS });
  expect(claims).toHaveLength(1);
  const ticket = await lifecycle.begin(claims[0]!);
  expect(ticket).toBeDefined();
  return ticket!;
}

function ran(status: ResultStatus, ...output: string[]): Parameters<JobLifecycle['end']>[1] {
  const now = Date.now();
  return { status, output: output.map(bytes), startTime: now, endTime: now };
}

/** Enqueues a job of the worker and ends its run with the status. */
async function runToEnd(worker: Worker, status: ResultStatus, job: Partial<Job> = {}): Promise<Job> {
  const j = newJob(worker, job);
  await lifecycle.enqueue(j, worker);
  await lifecycle.end(await beginOne(), ran(status, `out of ${j.id}`));
  return j;
}

describe('recording', () => {
  it('keeps a job that used up its retries, with the job, its last result and when it died', async () => {
    const retry: RetryPolicy = { type: RetryType.CONSTANT, interval: 0, maxInterval: 0, maxRetry: 1, basis: 2 };
    const w = await addWorker({ retryPolicy: retry });
    const job = newJob(w, { uniqKey: 'once', priority: Priority.PRIORITY_HIGH, timeout: 1234, args: bytes('a1') });
    await lifecycle.enqueue(job, w);
    expect(await lifecycle.end(await beginOne(), ran(ResultStatus.ERROR_AND_RETRY, 'first'))).toBe('retry');
    expect(await lifecycle.deadLetters.count({})).toBe(0);
    // the retry row is due at once: bring it to the queue as a poller would
    const [row] = await storage.jobs.findDue({
      dueBefore: Date.now() + 1000,
      now: Date.now(),
      workerIds: [w.id],
      limit: 1,
    });
    expect(await storage.jobs.grab(row!.id, 0, Date.now() + 60_000)).toBe(true);
    await lifecycle.queueDue({ ...row!, grabbedUntilTime: Date.now() + 60_000 }, DEFAULT_CHANNEL);
    const before = Date.now();
    expect(await lifecycle.end(await beginOne(), ran(ResultStatus.ERROR_AND_RETRY, 'second'))).toBe('final');

    const [letter, ...rest] = await lifecycle.deadLetters.list({});
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({
      jobId: job.id,
      workerId: w.id,
      workerName: w.name,
      uniqKey: 'once',
      priority: Priority.PRIORITY_HIGH,
      timeout: 1234,
      retried: 1,
      maxRetry: 1,
      status: ResultStatus.MAX_RETRY,
      requeuedJobId: undefined,
    });
    expect(text(letter!.args)).toBe('a1');
    expect(letter!.output.map(text)).toEqual(['second']);
    expect(letter!.diedAt).toBeGreaterThanOrEqual(before);
    // store_failure is off: no job_result row, yet the dead letter is there
    expect(await storage.results.count()).toBe(0);
    expect(await lifecycle.deadLetters.find(letter!.id)).toEqual(letter);
  });

  it('keeps FATAL_ERROR, not SUCCESS nor (by default) CANCELLED and OTHER_ERROR', async () => {
    const w = await addWorker();
    const fatal = await runToEnd(w, ResultStatus.FATAL_ERROR);
    await runToEnd(w, ResultStatus.SUCCESS);
    await runToEnd(w, ResultStatus.CANCELLED);
    await runToEnd(w, ResultStatus.OTHER_ERROR);
    expect((await lifecycle.deadLetters.list({})).map((d) => [d.jobId, d.status])).toEqual([
      [fatal.id, ResultStatus.FATAL_ERROR],
    ]);
  });

  it('follows the worker options: extra statuses, or none at all', async () => {
    const extra = await addWorker();
    const off = await addWorker();
    await lifecycle.deadLetters.setPolicy({
      workerId: extra.id,
      enabled: true,
      extraStatuses: [ResultStatus.CANCELLED, ResultStatus.OTHER_ERROR],
    });
    await lifecycle.deadLetters.setPolicy({ workerId: off.id, enabled: false, extraStatuses: [] });
    // a job cancelled while it waits is finished without a run, and kept
    const waiting = newJob(extra);
    await lifecycle.enqueue(waiting, extra);
    expect(await lifecycle.cancel(waiting.id)).toBe('cancelled');
    await runToEnd(extra, ResultStatus.OTHER_ERROR);
    await runToEnd(off, ResultStatus.MAX_RETRY);
    await runToEnd(off, ResultStatus.FATAL_ERROR);
    expect((await lifecycle.deadLetters.list({})).map((d) => d.status).sort((x, y) => x - y)).toEqual([
      ResultStatus.OTHER_ERROR,
      ResultStatus.CANCELLED,
    ]);
    expect(await lifecycle.deadLetters.count({ workerId: off.id })).toBe(0);
    expect(await lifecycle.deadLetters.policyOf(off.id)).toMatchObject({ enabled: false, stored: true });
    expect(await lifecycle.deadLetters.resetPolicy(off.id)).toBe(true);
    expect(await lifecycle.deadLetters.policyOf(off.id)).toEqual({
      workerId: off.id,
      enabled: true,
      extraStatuses: [],
      stored: false,
    });
    await expect(
      lifecycle.deadLetters.setPolicy({ workerId: extra.id, enabled: true, extraStatuses: [ResultStatus.SUCCESS] }),
    ).rejects.toThrow(/extra status SUCCESS cannot be chosen/);
    await expect(
      lifecycle.deadLetters.setPolicy({ workerId: 987_654, enabled: true, extraStatuses: [] }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('turns off with the default: workers without options keep none', async () => {
    open({ ...DEFAULTS, enabled: false });
    const w = await addWorker();
    await runToEnd(w, ResultStatus.FATAL_ERROR);
    expect(await lifecycle.deadLetters.count({})).toBe(0);
  });

  it('makes no dead letter of a periodic run: its job goes on', async () => {
    const w = await addWorker({ periodicInterval: 60_000, queueType: QueueType.FORCED_RDB });
    const job = newJob(w, { runAfterTime: Date.now() });
    await lifecycle.enqueue(job, w);
    const hold = Date.now() + 60_000;
    expect(await storage.jobs.grab(job.id, 0, hold)).toBe(true);
    await lifecycle.queueDue({ ...job, grabbedUntilTime: hold }, DEFAULT_CHANNEL);
    await lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR));
    expect(await lifecycle.deadLetters.count({})).toBe(0);
    expect(await storage.jobs.find(job.id)).toBeDefined();
  });

  it('holds the job back during a database outage, then records it once across deliveries', async () => {
    const w = await addWorker();
    const job = newJob(w, { uniqKey: 'held' });
    await lifecycle.enqueue(job, w);
    const repo = storage.deadLetters;
    const insert = repo.insert.bind(repo);
    const ping = storage.ping.bind(storage);
    repo.insert = () => Promise.reject(new UnavailableError('database down'));
    storage.ping = () => Promise.reject(new UnavailableError('database down'));
    await expect(lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR))).rejects.toThrow(/database down/);
    // not released: the claim is not completed and the uniq_key is still held
    expect(await lifecycle.status(job.id)).toBe(JobStatus.RUNNING);
    await expect(lifecycle.enqueue(newJob(w, { uniqKey: 'held' }), w)).rejects.toBeInstanceOf(AlreadyExistsError);
    repo.insert = insert;
    storage.ping = ping;

    // delivered again once the lease ends; this time the dead letter is written, but a later step fails
    clock += LEASE_MS + 1;
    const complete = queue.complete.bind(queue);
    queue.complete = () => Promise.reject(new Error('the queue went away'));
    await expect(lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR))).rejects.toThrow(/went away/);
    queue.complete = complete;
    expect(await lifecycle.deadLetters.count({})).toBe(1);

    // and delivered a third time: still one dead letter for this attempt
    clock += LEASE_MS + 1;
    await lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR));
    expect((await lifecycle.deadLetters.list({})).map((d) => d.jobId)).toEqual([job.id]);
    expect(await lifecycle.status(job.id)).toBeUndefined();
  });

  it('ends a job whose dead letter the database refuses (not an outage) as poison, keeping a slim dead letter', async () => {
    const w = await addWorker();
    const job = newJob(w, { uniqKey: 'poison', args: bytes('too large, say') });
    await lifecycle.enqueue(job, w);
    const results: JobResult[] = [];
    await bus.subscribeWorker(w.id, (r) => results.push(r.decode()));
    const repo = storage.deadLetters;
    const insert = repo.insert.bind(repo);
    let refused = 0;
    // the database refuses the row while it has the args (as it would a row larger than it takes)
    repo.insert = (letter) => {
      if (letter.args.length === 0) return insert(letter);
      refused += 1;
      return Promise.reject(new InvalidArgumentError('the row is too large'));
    };
    expect(await lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR, 'boom'))).toBe('final');
    expect(refused).toBe(FINISH_ATTEMPTS);
    expect(results.map((r) => r.status)).toEqual([ResultStatus.OTHER_ERROR]);
    expect(text(results[0]!.output[0])).toMatch(/recording the dead letter failed 3 times: the row is too large/);
    // kept under the status the job died of, without its args, the output saying why
    const [letter, ...rest] = await lifecycle.deadLetters.list({});
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({ jobId: job.id, status: ResultStatus.FATAL_ERROR, uniqKey: 'poison' });
    expect(letter!.args).toHaveLength(0);
    expect(text(letter!.output[0])).toMatch(/could not be finished/);
    // released: the key is free again
    expect(await lifecycle.status(job.id)).toBeUndefined();
    await lifecycle.enqueue(newJob(w, { uniqKey: 'poison' }), w);
  });

  it('applies the retention on insert: by count and by age', async () => {
    let now = Date.now();
    lifecycle = new JobLifecycle({
      storage,
      queue,
      state,
      bus,
      ids,
      logger: silentLogger,
      findDefinition: (id) => (id === definition.id ? definition : undefined),
      cancelTtlMs: 60_000,
      deadLetters: { enabled: true, retentionMs: 10_000, maxCount: 2 },
      workerCacheMs: 0,
      now: () => now,
    });
    const w = await addWorker();
    const jobs: Job[] = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(await runToEnd(w, ResultStatus.FATAL_ERROR));
      now += 1000;
    }
    expect((await lifecycle.deadLetters.list({})).map((d) => d.jobId)).toEqual([jobs[2]!.id, jobs[1]!.id]);
    now += 20_000;
    const last = await runToEnd(w, ResultStatus.FATAL_ERROR);
    expect((await lifecycle.deadLetters.list({})).map((d) => d.jobId)).toEqual([last.id]);
  });
});

describe('requeue and purge', () => {
  it('runs the job again as a new job with its args, once', async () => {
    const w = await addWorker();
    const dead = await runToEnd(w, ResultStatus.FATAL_ERROR, { args: bytes('again'), uniqKey: 'k', timeout: 99 });
    const [letter] = await lifecycle.deadLetters.list({});
    const jobId = await lifecycle.deadLetters.requeue(letter!.id);
    expect(jobId).not.toBe(dead.id);
    expect(await lifecycle.status(jobId)).toBe(JobStatus.PENDING);
    const ticket = await beginOne();
    expect(ticket.job).toMatchObject({ id: jobId, workerId: w.id, uniqKey: 'k', timeout: 99, retried: 0 });
    expect(text(ticket.job.args)).toBe('again');
    expect(await lifecycle.deadLetters.find(letter!.id)).toMatchObject({ requeuedJobId: jobId });
    await expect(lifecycle.deadLetters.requeue(letter!.id)).rejects.toThrow(
      new RegExp(`dead letter ${letter!.id} was already requeued as job ${jobId}`),
    );
    await lifecycle.end(ticket, ran(ResultStatus.SUCCESS));
    expect(await lifecycle.deadLetters.list({ requeued: false })).toEqual([]);
  });

  it('takes new args, keeps uniq_key rules, and names what is missing', async () => {
    const w = await addWorker();
    await runToEnd(w, ResultStatus.FATAL_ERROR, { uniqKey: 'busy' });
    const [letter] = await lifecycle.deadLetters.list({});
    // another job holds the uniq_key: refused, and the dead letter is not marked
    await lifecycle.enqueue(newJob(w, { uniqKey: 'busy' }), w);
    await expect(lifecycle.deadLetters.requeue(letter!.id)).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await lifecycle.deadLetters.find(letter!.id))?.requeuedJobId).toBeUndefined();
    await lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS));

    const jobId = await lifecycle.deadLetters.requeue(letter!.id, bytes('new args'));
    const ticket = await beginOne();
    expect(ticket.job.id).toBe(jobId);
    expect(text(ticket.job.args)).toBe('new args');
    await lifecycle.end(ticket, ran(ResultStatus.SUCCESS));

    await expect(lifecycle.deadLetters.requeue(424242)).rejects.toThrow(/dead letter 424242 does not exist/);
    const gone = await addWorker();
    await runToEnd(gone, ResultStatus.FATAL_ERROR);
    await storage.workers.delete(gone.id);
    const [orphan] = await lifecycle.deadLetters.list({ workerId: gone.id });
    await expect(lifecycle.deadLetters.requeue(orphan!.id)).rejects.toThrow(/no longer exists.*purge it instead/);
  });

  it('requeues all that match a filter, and purges by filter or age', async () => {
    const a = await addWorker();
    const b = await addWorker();
    await runToEnd(a, ResultStatus.FATAL_ERROR);
    await runToEnd(a, ResultStatus.MAX_RETRY);
    await runToEnd(b, ResultStatus.FATAL_ERROR);
    const outcome = await lifecycle.deadLetters.requeueAll({ workerId: a.id, statuses: [ResultStatus.FATAL_ERROR] });
    expect(outcome.failed).toEqual([]);
    expect(outcome.requeued).toHaveLength(1);
    expect(await lifecycle.status(outcome.requeued[0]!.jobId)).toBe(JobStatus.PENDING);
    // nothing left to requeue for that filter
    expect(
      (await lifecycle.deadLetters.requeueAll({ workerId: a.id, statuses: [ResultStatus.FATAL_ERROR] })).requeued,
    ).toEqual([]);

    expect(await lifecycle.deadLetters.purge({ workerId: b.id })).toBe(1);
    expect(await lifecycle.deadLetters.count({})).toBe(2);
    expect(await lifecycle.deadLetters.purge({ diedBefore: Date.now() + 1 })).toBe(2);
    expect(await lifecycle.deadLetters.count({})).toBe(0);
    await expect(lifecycle.deadLetters.purge({ diedFrom: 10, diedBefore: 5 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
