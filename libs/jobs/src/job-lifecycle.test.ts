/**
 * The job lifecycle in process: real memory adapters (queue, job states, result bus) and a SQLite file in a temp
 * folder, driven the way the engine and the front drive it (claim → begin → end, cancel, restore). The poller's
 * part — finding a due row and grabbing it — is done here with the same repository calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../config/src/index.js';
import type {
  Job,
  JobResult,
  JobTracer,
  TraceAttributes,
  TraceContext,
  TraceSpan,
  TraceSpanKind,
  Worker,
  WorkerSpec,
} from '../../core/src/index.js';
import {
  AlreadyExistsError,
  JobStatus,
  NO_RETRY,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  RunnerType,
  silentLogger,
  TimeOrderedIdGenerator,
} from '../../core/src/index.js';
import type { ClaimedJob } from '../../queue/src/index.js';
import { MemoryJobStateStore, MemoryQueue, MemoryResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openStorage } from '../../storage/src/index.js';
import type { RunTicket } from './job-lifecycle.js';
import { JobLifecycle } from './job-lifecycle.js';

const LEASE_MS = 30_000;
const bytes = (s: string): Uint8Array => Buffer.from(s);
const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();

/** The memory side of one process: a restart is a new Ports over the same SQLite file. */
class Ports {
  clock = Date.now();
  /** a clock the queue's leases follow, so a test can let a lease run out */
  readonly state = new MemoryJobStateStore();
  readonly bus = new MemoryResultBus({ keepMs: 60_000 });
  readonly queue = new MemoryQueue({
    maxPendingPerChannel: 1000,
    now: () => this.clock,
    state: this.state,
    results: this.bus,
  });
  readonly ids = new TimeOrderedIdGenerator(1);
  readonly lifecycle: JobLifecycle;
  /** what the lifecycle told its observer, one line per event (durations left out: they vary) */
  readonly told: string[] = [];

  constructor(
    readonly storage: Storage,
    definition: RunnerDefinition,
    tracer?: JobTracer,
  ) {
    this.lifecycle = new JobLifecycle({
      tracer,
      storage,
      queue: this.queue,
      state: this.state,
      bus: this.bus,
      ids: this.ids,
      logger: silentLogger,
      findDefinition: (id) => (id === definition.id ? definition : undefined),
      cancelTtlMs: 60_000,
      deadLetters: { enabled: true, retentionMs: 86_400_000, maxCount: 1000 },
      workerCacheMs: 0,
      finishRetryMs: 1,
      events: {
        onEnqueued: (worker, channel) => this.told.push(`enqueued ${worker} ${channel}`),
        onStarted: (worker, latencyMs) => this.told.push(`started ${worker} ${latencyMs >= 0}`),
        onRunEnded: (worker, durationMs) => this.told.push(`ran ${worker} ${durationMs}`),
        onRetry: (worker) => this.told.push(`retry ${worker}`),
        onFinished: (worker, status) => this.told.push(`finished ${worker} ${ResultStatus[status]}`),
        onDeadLetter: (worker) => this.told.push(`dead ${worker}`),
        onGivenBack: (channel) => this.told.push(`given back ${channel}`),
        onLeaseLost: (worker) => this.told.push(`lease lost ${worker}`),
      },
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.state.close(), this.bus.close()]);
  }
}

let dir: string;
let storage: Storage;
let definition: RunnerDefinition;
let p: Ports;
let workerNo = 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-jobs-'));
  storage = await openStorage({ kind: 'sqlite', path: join(dir, 'jobworkerp.sqlite3') });
  await storage.migrate();
  const ids = new TimeOrderedIdGenerator(2);
  const runner = await storage.runners.upsertByName(
    { name: 'LifecycleTest', type: RunnerType.PLUGIN, settingsProto: '', argsProto: '', resultProto: undefined },
    () => ids.next(),
  );
  definition = {
    ...runner,
    create: () => {
      throw new Error('the lifecycle never runs a runner itself');
    },
  };
  p = new Ports(storage, definition);
});

afterEach(async () => {
  await p.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function addWorker(spec: Partial<WorkerSpec> = {}): Promise<Worker> {
  workerNo += 1;
  return storage.workers.create({
    name: `worker-${workerNo}`,
    runnerId: definition.id,
    runnerSettings: new Uint8Array(),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.LISTEN_AFTER,
    storeSuccess: true,
    storeFailure: true,
    nextWorkers: [],
    useStatic: false,
    ...spec,
  });
}

function newJob(worker: Worker, job: Partial<Job> = {}): Job {
  return {
    id: p.ids.next(),
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

async function claimOne(channel = DEFAULT_CHANNEL): Promise<ClaimedJob> {
  const claims = await p.lifecycle.claim(channel, { max: 1, waitMs: 0, leaseMs: LEASE_MS });
  expect(claims).toHaveLength(1);
  return claims[0]!;
}

async function beginOne(): Promise<RunTicket> {
  const ticket = await p.lifecycle.begin(await claimOne());
  expect(ticket).toBeDefined();
  return ticket!;
}

function ran(status: ResultStatus, ...output: string[]): Parameters<JobLifecycle['end']>[1] {
  const now = Date.now();
  return { status, output: output.map(bytes), startTime: now, endTime: now };
}

/** What a poller does with a due row: grab it, then hand it to the lifecycle at its time (now). */
async function bringDue(worker: Worker): Promise<Job[]> {
  const now = Date.now();
  const due = await storage.jobs.findDue({ dueBefore: now + 60_000, now, workerIds: [worker.id], limit: 10 });
  const brought: Job[] = [];
  for (const job of due) {
    const hold = now + 60_000;
    expect(await storage.jobs.grab(job.id, job.grabbedUntilTime ?? 0, hold)).toBe(true);
    const held = { ...job, grabbedUntilTime: hold };
    if ((await p.lifecycle.queueDue(held, DEFAULT_CHANNEL)) === 'queued') brought.push(held);
  }
  return brought;
}

/** The job is final: no status, not in the queue, no row. */
async function expectGone(jobId: number): Promise<void> {
  expect(await p.lifecycle.status(jobId)).toBeUndefined();
  expect(await p.lifecycle.isQueued(jobId)).toBe(false);
  expect(await storage.jobs.find(jobId)).toBeUndefined();
}

describe('enqueue', () => {
  it('routes a NORMAL job to the queue only', async () => {
    const w = await addWorker();
    const job = newJob(w);
    expect(await p.lifecycle.enqueue(job, w)).toBe('queue');
    expect(await p.lifecycle.isQueued(job.id)).toBe(true);
    expect(await storage.jobs.find(job.id)).toBeUndefined();
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
  });

  it('routes a delayed or FORCED_RDB job to an RDB row only', async () => {
    const w = await addWorker();
    const later = newJob(w, { runAfterTime: Date.now() + 60_000 });
    expect(await p.lifecycle.enqueue(later, w)).toBe('rdb');
    expect((await storage.jobs.find(later.id))?.runAfterTime).toBe(later.runAfterTime);

    const forced = await addWorker({ queueType: QueueType.FORCED_RDB });
    const now = newJob(forced);
    expect(await p.lifecycle.enqueue(now, forced)).toBe('rdb');
    // a row is polled by run_after_time > 0: a job due now gets "now"
    expect((await storage.jobs.find(now.id))?.runAfterTime).toBeGreaterThan(0);
    for (const job of [later, now]) {
      expect(await p.lifecycle.isQueued(job.id)).toBe(false);
      expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
    }
  });

  it('routes a WITH_BACKUP job to a row and the queue', async () => {
    const w = await addWorker({ queueType: QueueType.WITH_BACKUP });
    const job = newJob(w);
    expect(await p.lifecycle.enqueue(job, w)).toBe('rdb+queue');
    expect(await p.lifecycle.isQueued(job.id)).toBe(true);
    expect((await storage.jobs.find(job.id))?.runAfterTime).toBe(0);
  });

  it('refuses a uniq_key held by an unfinished job, leaves nothing behind, and frees the key when it is final', async () => {
    const w = await addWorker({ queueType: QueueType.WITH_BACKUP });
    const first = newJob(w, { uniqKey: 'k' });
    const second = newJob(w, { uniqKey: 'k' });
    await p.lifecycle.enqueue(first, w);
    await expect(p.lifecycle.enqueue(second, w)).rejects.toBeInstanceOf(AlreadyExistsError);
    await expectGone(second.id);

    await p.lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS));
    expect(await p.lifecycle.enqueue(second, w)).toBe('rdb+queue');
  });
});

describe('a run', () => {
  it.each([
    ['SUCCESS, store_success', ResultStatus.SUCCESS, { storeSuccess: true }, true],
    ['SUCCESS, no store_success', ResultStatus.SUCCESS, { storeSuccess: false, storeFailure: true }, false],
    ['FATAL_ERROR, store_failure', ResultStatus.FATAL_ERROR, { storeFailure: true }, true],
    ['FATAL_ERROR, no store_failure', ResultStatus.FATAL_ERROR, { storeSuccess: true, storeFailure: false }, false],
  ])('ends final (%s): stored per the flags, published, released', async (_what, status, flags, stored) => {
    const w = await addWorker(flags);
    const job = newJob(w, { uniqKey: 'once' });
    await p.lifecycle.enqueue(job, w);
    const listened = p.bus.waitForJob(job.id, 5000).then((r) => r.decode());

    const ticket = await beginOne();
    expect(ticket.job.id).toBe(job.id);
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.RUNNING);
    expect(await p.lifecycle.end(ticket, ran(status, 'out'))).toBe('final');

    const result = await listened;
    expect([result.status, text(result.output[0])]).toEqual([status, 'out']);
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(status);
    expect((await storage.results.listByJobId(job.id)).map((r) => r.status)).toEqual(stored ? [status] : []);
    await expectGone(job.id);
    expect(await p.queue.count()).toBe(0);
    expect(await p.state.acquireUniqKey('once', 1)).toBe(true);
  });

  it('does not keep the result of a NO_RESULT worker for late listeners', async () => {
    const w = await addWorker({ responseType: ResponseType.NO_RESULT });
    await p.lifecycle.enqueue(newJob(w), w);
    const ticket = await beginOne();
    await p.lifecycle.end(ticket, ran(ResultStatus.SUCCESS));
    expect(await p.bus.getKept(ticket.job.id)).toBeUndefined();
  });

  it('persists a retry as a row, then ends with MAX_RETRY when the retries are used up', async () => {
    const w = await addWorker({
      retryPolicy: { type: RetryType.CONSTANT, interval: 10, maxInterval: 0, maxRetry: 1, basis: 2 },
    });
    const job = newJob(w, { uniqKey: 'retried' });
    await p.lifecycle.enqueue(job, w);
    const first = ran(ResultStatus.ERROR_AND_RETRY, 'boom');
    expect(await p.lifecycle.end(await beginOne(), first)).toBe('retry');

    const row = await storage.jobs.find(job.id);
    expect(row?.retried).toBe(1);
    expect(row?.runAfterTime).toBeGreaterThanOrEqual(first.endTime + 10);
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
    expect(await p.queue.count()).toBe(0);
    // the failed attempt is stored (store_failure); nobody is told yet
    expect((await storage.results.listByJobId(job.id)).map((r) => r.status)).toEqual([ResultStatus.ERROR_AND_RETRY]);
    expect(await p.bus.getKept(job.id)).toBeUndefined();
    expect(await p.state.acquireUniqKey('retried', 1)).toBe(false);

    expect((await bringDue(w)).map((j) => j.id)).toEqual([job.id]);
    const again = await beginOne();
    expect(again.job.retried).toBe(1);
    expect(await p.lifecycle.end(again, ran(ResultStatus.ERROR_AND_RETRY, 'boom'))).toBe('final');
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.MAX_RETRY);
    await expectGone(job.id);
    expect(await p.state.acquireUniqKey('retried', 1)).toBe(true);
  });

  it('tells its observer what happened to each job, once', async () => {
    const w = await addWorker({
      retryPolicy: { type: RetryType.CONSTANT, interval: 10, maxInterval: 0, maxRetry: 1, basis: 2 },
    });
    const ch = DEFAULT_CHANNEL;
    const name = w.name;
    await p.lifecycle.enqueue(newJob(w), w);
    const run = ran(ResultStatus.ERROR_AND_RETRY, 'boom');
    await p.lifecycle.end(await beginOne(), { ...run, endTime: run.startTime + 7 });
    await bringDue(w);
    await p.lifecycle.end(await beginOne(), ran(ResultStatus.ERROR_AND_RETRY, 'boom'));
    await p.lifecycle.enqueue(newJob(w), w);
    await p.lifecycle.giveBack(await beginOne());
    p.lifecycle.abandon(await beginOne());
    const cancelled = newJob(w, { runAfterTime: Date.now() + 60_000 });
    await p.lifecycle.enqueue(cancelled, w);
    await p.lifecycle.cancel(cancelled.id);
    expect(p.told).toEqual([
      `enqueued ${name} ${ch}`,
      `started ${name} true`,
      `ran ${name} 7`,
      `retry ${name}`,
      // the retry row brought back to the queue is not a new job
      `started ${name} true`,
      `ran ${name} 0`,
      `dead ${name}`,
      `finished ${name} MAX_RETRY`,
      `enqueued ${name} ${ch}`,
      `started ${name} true`,
      `given back ${ch}`,
      `started ${name} true`,
      `lease lost ${name}`,
      `enqueued ${name} ${ch}`,
      `finished ${name} CANCELLED`,
    ]);
  });

  it('schedules the next run of a periodic worker and keeps the series going', async () => {
    const w = await addWorker({ periodicInterval: 60_000 });
    const job = newJob(w);
    expect(await p.lifecycle.enqueue(job, w)).toBe('rdb');
    const [brought] = await bringDue(w);
    const ticket = await beginOne();
    expect(await p.lifecycle.end(ticket, ran(ResultStatus.SUCCESS, 'tick'))).toBe('final');

    const row = await storage.jobs.find(job.id);
    expect(row?.runAfterTime).toBe(brought!.runAfterTime + 60_000);
    // released for the next poll, which finds it at its time
    expect(row?.grabbedUntilTime).toBeUndefined();
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.SUCCESS);
    expect(await p.queue.count()).toBe(0);
  });

  it('enqueues each output item of a SUCCESS as a job of each next worker', async () => {
    const next = await addWorker({ responseType: ResponseType.NO_RESULT });
    const w = await addWorker({ nextWorkers: [next.id] });
    await p.lifecycle.enqueue(newJob(w, { priority: Priority.PRIORITY_HIGH }), w);
    await p.lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS, 'a', 'b'));

    const chained = await p.queue.list(0, 10);
    expect(chained.map((j) => [j.workerId, text(j.args), j.priority])).toEqual([
      [next.id, 'a', Priority.PRIORITY_HIGH],
      [next.id, 'b', Priority.PRIORITY_HIGH],
    ]);
    for (const j of chained) expect(await p.lifecycle.status(j.id)).toBe(JobStatus.PENDING);
  });

  it('does not chain next workers after a failure', async () => {
    const next = await addWorker();
    const w = await addWorker({ nextWorkers: [next.id] });
    await p.lifecycle.enqueue(newJob(w), w);
    await p.lifecycle.end(await beginOne(), ran(ResultStatus.FATAL_ERROR, 'a'));
    expect(await p.queue.count()).toBe(0);
  });

  it('finishes a job whose worker is gone with OTHER_ERROR, unrun', async () => {
    const w = await addWorker();
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    await storage.workers.delete(w.id);
    const listened = p.bus.waitForJob(job.id, 5000).then((r) => r.decode());
    expect(await p.lifecycle.begin(await claimOne())).toBeUndefined();
    const result = await listened;
    expect(result.status).toBe(ResultStatus.OTHER_ERROR);
    expect(text(result.output[0])).toContain(`worker ${w.id} no longer exists`);
    await expectGone(job.id);
  });
});

/** A span as the recording tracer keeps it. */
interface RecordedSpan {
  readonly name: string;
  readonly kind: TraceSpanKind;
  readonly parent: TraceContext | undefined;
  readonly traceId: string;
  readonly spanId: string;
  attributes: Record<string, string | number | boolean>;
  failure: string | undefined;
  ended: number;
}

/** A JobTracer that records what it is asked, with W3C contexts made like a real tracer's. */
class RecordingTracer implements JobTracer {
  readonly spans: RecordedSpan[] = [];
  private next = 0;

  start(name: string, kind: TraceSpanKind, parent: TraceContext | undefined, attributes?: TraceAttributes): TraceSpan {
    const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
    this.next += 1;
    const traceId = parent?.traceparent.split('-')[1] ?? hex(this.next, 32);
    const span: RecordedSpan = {
      name,
      kind,
      parent,
      traceId,
      spanId: hex(this.next, 16),
      attributes: { ...attributes },
      failure: undefined,
      ended: 0,
    };
    this.spans.push(span);
    return {
      context: () => ({ traceparent: `00-${traceId}-${span.spanId}-01` }),
      setAttributes: (more) => Object.assign(span.attributes, more),
      fail: (error) => (span.failure = error instanceof Error ? error.message : String(error)),
      end: () => (span.ended += 1),
    };
  }
}

describe('tracing', () => {
  const enqueueContext: TraceContext = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

  it('runs a job under its trace context, retries under the same, and chains next jobs under the run', async () => {
    const tracer = new RecordingTracer();
    await p.close();
    p = new Ports(storage, definition, tracer);
    const next = await addWorker({ responseType: ResponseType.NO_RESULT });
    const w = await addWorker({
      nextWorkers: [next.id],
      retryPolicy: { type: RetryType.CONSTANT, interval: 10, maxInterval: 0, maxRetry: 1, basis: 2 },
    });
    const job = newJob(w, { trace: enqueueContext });
    await p.lifecycle.enqueue(job, w);

    expect(await p.lifecycle.end(await beginOne(), ran(ResultStatus.ERROR_AND_RETRY, 'boom'))).toBe('retry');
    // the retry row keeps the job's context
    expect((await storage.jobs.find(job.id))?.trace).toEqual(enqueueContext);
    const [brought] = await bringDue(w);
    expect(brought?.trace).toEqual(enqueueContext);
    expect(await p.lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS, 'a'))).toBe('final');

    const [chained] = await p.queue.list(0, 10);
    const runs = tracer.spans.filter((s) => s.kind === 'consumer');
    expect(runs).toHaveLength(2);
    const [failed, succeeded] = runs;
    expect(chained?.trace).toEqual({ traceparent: `00-${succeeded!.traceId}-${succeeded!.spanId}-01` });
    await p.lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS));

    const all = tracer.spans;
    expect(all.every((s) => s.ended === 1)).toBe(true);
    expect(new Set(all.map((s) => s.traceId))).toEqual(new Set(['4bf92f3577b34da6a3ce929d0e0e4736']));
    expect(failed).toMatchObject({
      name: `process ${DEFAULT_CHANNEL}`,
      parent: enqueueContext,
      failure: 'the run ended with ERROR_AND_RETRY',
      attributes: {
        'jobworkerp.job.id': job.id,
        'jobworkerp.job.attempt': 1,
        'jobworkerp.worker.name': w.name,
        'jobworkerp.runner.type': 'PLUGIN',
        'messaging.destination.name': DEFAULT_CHANNEL,
        'jobworkerp.result.status': 'ERROR_AND_RETRY',
      },
    });
    expect(succeeded).toMatchObject({
      parent: enqueueContext,
      failure: undefined,
      attributes: { 'jobworkerp.job.attempt': 2, 'jobworkerp.result.status': 'SUCCESS' },
    });
    const chainedRun = tracer.spans.filter((s) => s.kind === 'consumer')[2]!;
    expect(chainedRun.parent).toEqual(chained?.trace);
    expect(chainedRun.attributes['jobworkerp.worker.name']).toBe(next.name);
    // each run's finishing steps are a span under it
    const finishes = all.filter((s) => s.name === 'finish job');
    expect(finishes.map((s) => [s.parent?.traceparent.split('-')[2], s.attributes['jobworkerp.job.outcome']])).toEqual([
      [failed!.spanId, 'retry'],
      [succeeded!.spanId, 'final'],
      [chainedRun.spanId, 'final'],
    ]);
  });

  it('ends the span of a run given back or whose lease was lost', async () => {
    const tracer = new RecordingTracer();
    await p.close();
    p = new Ports(storage, definition, tracer);
    const w = await addWorker();
    await p.lifecycle.enqueue(newJob(w), w);
    await p.lifecycle.giveBack(await beginOne());
    p.lifecycle.abandon(await beginOne());
    expect(tracer.spans.map((s) => [s.parent, s.ended, s.attributes['jobworkerp.job.outcome'], s.failure])).toEqual([
      [undefined, 1, 'given back', undefined],
      [undefined, 1, undefined, 'the lease was lost: the job runs again where it is claimed next'],
    ]);
  });

  it('carries no context without a tracer: next jobs start without one', async () => {
    const next = await addWorker({ responseType: ResponseType.NO_RESULT });
    const w = await addWorker({ nextWorkers: [next.id] });
    await p.lifecycle.enqueue(newJob(w, { trace: enqueueContext }), w);
    const ticket = await beginOne();
    expect(ticket.job.trace).toEqual(enqueueContext);
    await p.lifecycle.end(ticket, ran(ResultStatus.SUCCESS, 'a'));
    const [chained] = await p.queue.list(0, 10);
    expect(chained?.workerId).toBe(next.id);
    expect(chained?.trace).toBeUndefined();
  });
});

describe('cancel', () => {
  it('finishes a job waiting in the queue as CANCELLED', async () => {
    const w = await addWorker();
    const job = newJob(w, { uniqKey: 'c' });
    await p.lifecycle.enqueue(job, w);
    const listened = p.bus.waitForJob(job.id, 5000).then((r) => r.decode());
    expect(await p.lifecycle.cancel(job.id)).toBe('cancelled');
    expect((await listened).status).toBe(ResultStatus.CANCELLED);
    await expectGone(job.id);
    expect(await p.state.acquireUniqKey('c', 1)).toBe(true);
  });

  it('finishes a job that waits as an RDB row as CANCELLED', async () => {
    const w = await addWorker();
    const job = newJob(w, { runAfterTime: Date.now() + 60_000 });
    await p.lifecycle.enqueue(job, w);
    expect(await p.lifecycle.cancel(job.id)).toBe('cancelled');
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.CANCELLED);
    await expectGone(job.id);
  });

  it('tells the engine running a job, whose end is CANCELLED and not retried', async () => {
    const w = await addWorker({
      retryPolicy: { type: RetryType.CONSTANT, interval: 10, maxInterval: 0, maxRetry: 5, basis: 2 },
    });
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    const ticket = await beginOne();
    const heard: number[] = [];
    const unsubscribe = await p.lifecycle.onCancel((id) => heard.push(id));
    try {
      expect(await p.lifecycle.cancel(job.id)).toBe('stopping');
      expect(heard).toEqual([job.id]);
      // the job is still the engine's: nothing is published until its run ends
      expect(await p.bus.getKept(job.id)).toBeUndefined();
      expect(await p.lifecycle.status(job.id)).toBe(JobStatus.RUNNING);
      // a runner that reports a retryable error after the abort does not get its retry
      expect(await p.lifecycle.end(ticket, ran(ResultStatus.ERROR_AND_RETRY))).toBe('final');
    } finally {
      await unsubscribe();
    }
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.CANCELLED);
    await expectGone(job.id);
  });

  it('finishes a job claimed before the cancel without running it, once the engine heard of the cancel', async () => {
    const w = await addWorker();
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    const claim = await claimOne();
    // the engine listens for cancellations; this one comes while the claim is still on its way back
    const unsubscribe = await p.lifecycle.onCancel(() => undefined);
    expect(await p.lifecycle.cancel(job.id)).toBe('stopping');
    await unsubscribe();
    expect(await p.lifecycle.begin(claim)).toBeUndefined();
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.CANCELLED);
    await expectGone(job.id);
    expect(await p.queue.count()).toBe(0);
  });

  it('finishes a due row that a poller holds when the poller brings it', async () => {
    const w = await addWorker({ periodicInterval: 60_000 });
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    const [row] = await storage.jobs.findDue({
      dueBefore: Date.now() + 60_000,
      now: Date.now(),
      workerIds: [w.id],
      limit: 1,
    });
    const hold = Date.now() + 60_000;
    expect(await storage.jobs.grab(row!.id, 0, hold)).toBe(true);
    expect(await p.lifecycle.cancel(job.id)).toBe('stopping');
    expect(await p.lifecycle.queueDue({ ...row!, grabbedUntilTime: hold }, DEFAULT_CHANNEL)).toBe('cancelled');
    expect((await p.bus.getKept(job.id))?.decode().status).toBe(ResultStatus.CANCELLED);
    await expectGone(job.id);
  });

  it('answers not-found for a job that is not unfinished', async () => {
    expect(await p.lifecycle.cancel(12345)).toBe('not-found');
  });
});

describe('leases and deliveries', () => {
  it('gives a job back on shutdown: PENDING, its row hold freed, claimable again at once', async () => {
    const w = await addWorker({ queueType: QueueType.FORCED_RDB });
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    await bringDue(w);
    const ticket = await beginOne();
    await p.lifecycle.giveBack(ticket);
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
    expect((await storage.jobs.find(job.id))?.grabbedUntilTime).toBeUndefined();
    const again = await claimOne();
    expect(again.job.id).toBe(job.id);
  });

  it('runs a job again after its lease was lost; the attempt keeps one stored result and is published once', async () => {
    const w = await addWorker({ storeSuccess: true });
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    const heard: string[] = [];
    await p.bus.subscribeWorker(w.id, (r) => heard.push(text(r.decode().output[0])));
    const slow = await beginOne();
    // the first consumer is cut off past its lease: the job is handed out again
    p.clock += LEASE_MS + 1;
    const second = await claimOne();
    expect(await p.lifecycle.renew(slow, LEASE_MS)).toBe(false);
    // the first run still ends: its result is stored, but its claim is dead, so the job is not completed by it
    await p.lifecycle.end(slow, ran(ResultStatus.SUCCESS, 'first'));
    expect(heard).toEqual([]);
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.RUNNING);
    // the second delivery runs and completes the job; the attempt already has its stored result
    await p.lifecycle.end((await p.lifecycle.begin(second))!, ran(ResultStatus.SUCCESS, 'second'));
    expect(heard).toEqual(['second']);
    expect(await p.queue.count()).toBe(0);
    expect((await storage.results.listByJobId(job.id)).map((r) => text(r.output[0]))).toEqual(['first']);
    await expectGone(job.id);
  });

  it('renews the lease and the row hold of a running job', async () => {
    const w = await addWorker({ queueType: QueueType.FORCED_RDB });
    const job = newJob(w, { timeout: 60_000 });
    await p.lifecycle.enqueue(job, w);
    const [brought] = await bringDue(w);
    const ticket = await beginOne();
    expect(await p.lifecycle.renew(ticket, LEASE_MS)).toBe(true);
    const hold = (await storage.jobs.find(job.id))?.grabbedUntilTime;
    expect(hold).toBeGreaterThan(brought!.grabbedUntilTime!);
    // the run ends against the renewed hold: the row is released as final
    expect(await p.lifecycle.end(ticket, ran(ResultStatus.SUCCESS))).toBe('final');
    await expectGone(job.id);
  });

  it('leaves a job whose lease was lost to its next owner', async () => {
    const w = await addWorker();
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    const lost = await beginOne();
    p.clock += LEASE_MS + 1;
    const next = await claimOne();
    expect(await p.lifecycle.renew(lost, LEASE_MS)).toBe(false);
    p.lifecycle.abandon(lost);
    const ticket = await p.lifecycle.begin(next);
    expect(ticket?.job.id).toBe(job.id);
    expect(await p.lifecycle.end(ticket!, ran(ResultStatus.SUCCESS))).toBe('final');
    expect(await storage.results.listByJobId(job.id)).toHaveLength(1);
  });
});

describe('restore', () => {
  it('rebuilds the state and re-queues WITH_BACKUP rows after a restart of an in-memory process', async () => {
    const w = await addWorker({ queueType: QueueType.WITH_BACKUP });
    const job = newJob(w, { uniqKey: 'backed-up' });
    await p.lifecycle.enqueue(job, w);
    // nothing to do while the job is queued
    expect(await p.lifecycle.restore(true)).toBe(0);

    // a restart: the memory ports are gone, the SQLite file stays
    await p.close();
    p = new Ports(storage, definition);
    expect(await p.lifecycle.status(job.id)).toBeUndefined();
    await p.lifecycle.recover({ rebuildState: true, restore: 'all' });
    expect(await p.lifecycle.status(job.id)).toBe(JobStatus.PENDING);
    expect(await p.lifecycle.isQueued(job.id)).toBe(true);
    await expect(p.lifecycle.enqueue(newJob(w, { uniqKey: 'backed-up' }), w)).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );

    const results: JobResult[] = [];
    await p.bus.subscribeWorker(w.id, (r) => results.push(r.decode()));
    await p.lifecycle.end(await beginOne(), ran(ResultStatus.SUCCESS));
    expect(results.map((r) => r.jobId)).toEqual([job.id]);
    await expectGone(job.id);
  });

  it('leaves rows alone when told not to restore', async () => {
    const w = await addWorker({ queueType: QueueType.WITH_BACKUP });
    const job = newJob(w);
    await p.lifecycle.enqueue(job, w);
    await p.close();
    p = new Ports(storage, definition);
    await p.lifecycle.recover({ rebuildState: false, restore: 'none' });
    expect(await p.lifecycle.isQueued(job.id)).toBe(false);
    expect(await p.lifecycle.restore(false)).toBe(1);
    expect(await p.lifecycle.isQueued(job.id)).toBe(true);
  });
});
