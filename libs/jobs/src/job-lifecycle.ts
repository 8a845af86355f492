/**
 * The job lifecycle: every step that changes where a job stands — route, claim, begin, end (retry, store, publish,
 * next_workers, periodic next run), give back, cancel, restore — goes through one JobLifecycle, so the front and the
 * engine act on jobs the same way and the queue, the job states and the result bus are touched in one place.
 *
 * A job's states, and who moves it (F = front, D = the engine's ChannelDispatcher, P = the engine's RdbPoller):
 *
 *                  enqueue (F, next_workers: D)
 *                         │ uniq_key reserved, status PENDING
 *            ┌────────────┴──────────────┐
 *            ▼                           ▼
 *      PENDING in queue ◀──queueDue (P)── PENDING as RDB row ◀──────────────────────────────────┐
 *            │ claim + begin (D)         (delayed, periodic, FORCED_RDB, a retry; WITH_BACKUP    │
 *            ▼                            also has a row while it is in the queue)               │
 *         RUNNING ──giveBack (D, shutdown)──▶ PENDING in queue (released at once; row hold freed)│
 *            │    ──lease lost (abandon)────▶ PENDING in queue once the lease ends: re-delivered │
 *            │ end (D): the run is over                                                          │
 *            ▼                                                                                   │
 *       WAIT_RESULT ──ERROR_AND_RETRY, retries left──▶ retry persisted as a row, PENDING ────────┤
 *  (marked only while a result is written to the RDB)                                             │
 *            │      ──periodic worker──▶ result stored/published, next run rescheduled ──────────┘
 *            ▼
 *          final: result stored (per store_success / store_failure), a failure kept as a dead letter (MAX_RETRY,
 *                 FATAL_ERROR, per worker more; see dead-letters.ts), published (kept unless NO_RESULT), status
 *                 deleted, uniq_key released, row deleted, next_workers enqueued on SUCCESS; the queue's
 *                 complete step does the status, the uniq_key, the publish and the ack at once
 *
 *   cancel (F): marks the job cancelled (a mark pollers and the retry step look at), removes it from the queue or its
 *   row from the RDB;
 *     - a job nobody holds (waiting in the queue, or an unheld row) is finished here as CANCELLED;
 *     - a claimed job: the queue's cancel step announces it on the channel every engine listens to (onCancel); the
 *       engine running it aborts the run and end() finishes it as CANCELLED (a retry is not persisted, a periodic
 *       series is not continued); an engine whose claim of it is still on its way back remembers the id, and
 *       begin() finishes the job without running it;
 *     - a row a poller holds: queueDue() sees the mark and finishes it.
 *
 * Who holds what: the queue holds the job and its status while the job is in it (waiting = PENDING, claimed =
 * RUNNING, marked = WAIT_RESULT), and the uniq_key reservations are shared with the JobStateStore, which holds the
 * status of jobs that are only RDB rows. So the path of a queue job costs the queue two steps per batch of jobs:
 * claim, and complete (the ack, the status, the uniq_key and the publish of the result in one atomic step), plus a
 * WAIT_RESULT mark when the result is written to the RDB. A delivery whose complete did not happen (its process died
 * after storing the result) runs again: its attempt keeps its one stored result, and the new run's result is
 * published.
 *
 * Guarantees:
 * - at least once: a job leaves the queue only by its complete step, after its result (or its retry row) is stored;
 *   a process that dies at any moment holds only a lease, and the job is delivered again when it ends;
 * - never twice at once: the lease (and a row's hold) is renewed while the job runs; a renewal that finds the lease
 *   lost stops the run before anyone else may take it;
 * - a result is never missed: it is stored before it is published, published in the same atomic step that ends the
 *   job in the queue, and kept for late listeners;
 * - retries are persisted: a retry is an RDB row before the claim is acked, so no retry is lost, whatever its delay.
 */
import type {
  IdGenerator,
  Job,
  JobResult,
  JobTracer,
  Logger,
  TraceSpan,
  Worker,
  JobStatus,
} from '../../core/src/index.js';
import { ResultStatus, RunnerType, TtlCache } from '../../core/src/index.js';
import type { ClaimedJob, ClaimOptions, JobQueue, JobStateStore, ResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { rebuildJobState, restoreBackedUpJobs } from './job-restorer.js';
import type { Route, RoutableWorker } from './job-router.js';
import { JobRouter } from './job-router.js';
import type { DeadLetterSettings } from './dead-letters.js';
import { DeadLetterKeeper } from './dead-letters.js';
import type { JobEvents } from './job-events.js';
import { NO_JOB_EVENTS } from './job-events.js';
import type { RunRecord } from './result-processor.js';
import { ResultProcessor } from './result-processor.js';

export interface JobLifecycleDeps {
  readonly storage: Pick<Storage, 'jobs' | 'results' | 'workers' | 'deadLetters' | 'ping'>;
  readonly queue: JobQueue;
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** the runners this process can run; begin() finishes a job whose runner is not among them */
  readonly findDefinition: (runnerId: number) => RunnerDefinition | undefined;
  /** how long a cancellation mark lives: a run that ends later than that after a cancel is no longer told */
  readonly cancelTtlMs: number;
  /** told when an RDB row was stored, so pollers look at once (it may be due before their next tick) */
  readonly onDueRow?: () => void;
  /** how long a looked-up worker is reused; invalidateWorker() forgets one at once. @default 2000 */
  readonly workerCacheMs?: number;
  /** dead letters: the default for workers without options of their own, and the retention */
  readonly deadLetters: DeadLetterSettings;
  /** pause between tries of a finishing step that failed (ResultProcessor). @default 200 */
  readonly finishRetryMs?: number;
  /** RETRY_JITTER: retry delays are spread at random by this fraction, both ways. @default 0 */
  readonly retryJitter?: number;
  /** told as jobs are enqueued, start, end, retry, finish... (the apps' metrics). @default nobody */
  readonly events?: JobEvents;
  /**
   * records a span per run (under the job's trace context) and per finishing step; next_workers jobs carry the
   * context of the run that made them. @default no tracing (nothing recorded, nothing carried)
   */
  readonly tracer?: JobTracer;
  readonly now?: () => number;
}

/** A claimed job that may run: what the runner needs. Only the lifecycle that issued it can end it. */
export interface RunTicket {
  readonly job: Job;
  readonly worker: Worker;
  readonly definition: RunnerDefinition;
}

/**
 * What cancel did: 'cancelled' = the job was finished here as CANCELLED (nobody held it); 'stopping' = whoever holds
 * it (a running engine, a poller) finishes it when it sees the mark; 'not-found' = no unfinished job has that id.
 */
export type CancelOutcome = 'cancelled' | 'stopping' | 'not-found';

/** What to do at start about job state that may be missing (see JobLifecycle.recover). */
export interface RecoveryOptions {
  /** the JobStateStore starts empty (in memory): rebuild statuses and uniq_keys from the RDB rows */
  readonly rebuildState: boolean;
  /** put WITH_BACKUP rows back into the queue: none, those no poller holds, or all */
  readonly restore: 'none' | 'ungrabbed' | 'all';
}

/** How many cancellations heard lately a lifecycle remembers (see begin). */
const MAX_REMEMBERED_CANCELS = 10_000;

/** The ticket's own record: the claim, the RDB hold, and whether the run is still going. */
class Run implements RunTicket {
  /** 'running' until the run is over; then the lease is still renewed (finishing may take a while), the hold not */
  phase: 'running' | 'over' = 'running';

  constructor(
    readonly claim: ClaimedJob,
    readonly worker: Worker,
    readonly definition: RunnerDefinition,
    /** grabbed_until_time of the job's RDB row while this run holds it; undefined for a queue-only job */
    public held: number | undefined,
    /** the span of this run, when tracing is on */
    readonly span: TraceSpan | undefined,
  ) {}

  get job(): Job {
    return this.claim.job;
  }
}

export class JobLifecycle {
  /** dead letters: recorded when a job ends in failure; listed, requeued (through enqueue) and purged here */
  readonly deadLetters: DeadLetterKeeper;
  private readonly router: JobRouter;
  private readonly processor: ResultProcessor;
  private readonly workers: TtlCache<number, Worker>;
  /** job id → until when: cancellations heard lately (onCancel), checked by begin() */
  private readonly recentCancels = new Map<number, number>();
  private readonly now: () => number;
  private readonly events: JobEvents;
  private readonly tracer: JobTracer | undefined;

  constructor(private readonly deps: JobLifecycleDeps) {
    this.tracer = deps.tracer;
    const { storage, queue, state, bus, ids, logger } = deps;
    this.now = deps.now ?? Date.now;
    this.events = deps.events ?? NO_JOB_EVENTS;
    const events = this.events;
    this.workers = new TtlCache((id) => storage.workers.find(id), deps.workerCacheMs ?? 2000, this.now);
    this.router = new JobRouter({ queue, rows: storage.jobs, state, now: this.now, onDueRow: deps.onDueRow, events });
    this.deadLetters = new DeadLetterKeeper({
      repo: storage.deadLetters,
      settings: deps.deadLetters,
      ids,
      logger,
      findWorker: (id) => this.findWorker(id),
      enqueue: (job, worker) => this.enqueue(job, worker),
      policyCacheMs: deps.workerCacheMs,
      now: this.now,
    });
    this.processor = new ResultProcessor({
      rows: storage.jobs,
      results: storage.results,
      deadLetters: this.deadLetters,
      state,
      bus,
      queue,
      router: this.router,
      findWorker: (id) => this.findWorker(id),
      findDefinition: deps.findDefinition,
      ids,
      logger,
      pingStorage: () => storage.ping(),
      finishRetryMs: deps.finishRetryMs,
      retryJitter: deps.retryJitter,
      events,
      now: this.now,
    });
  }

  /** The worker by id (briefly cached: every job looks its worker up). */
  findWorker(id: number): Promise<Worker | undefined> {
    return this.workers.get(id);
  }

  /** A worker changed or was deleted: look it up again next time. */
  invalidateWorker(id: number): void {
    this.workers.invalidate(id);
  }

  // ── creating ──────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Stores a new job where its route says (queue, RDB row, or both) and marks it PENDING. AlreadyExistsError when its
   * uniq_key is held by an unfinished job; on any failure nothing of the job is left behind.
   */
  enqueue(job: Job, worker: RoutableWorker): Promise<Route> {
    return this.router.enqueue(job, worker);
  }

  /** Whether the job waits in the queue or is claimed from it. */
  async isQueued(jobId: number): Promise<boolean> {
    return (await this.deps.queue.status(jobId)) !== undefined;
  }

  /**
   * A poller's row is due: into its channel's queue, or, when it was cancelled meanwhile, finished as CANCELLED.
   * The job keeps the row's hold (grabbedUntilTime), which tells begin() it came from a row.
   */
  async queueDue(job: Job, channel: string): Promise<'queued' | 'cancelled'> {
    if (await this.deps.state.isCancelled(job.id)) {
      await this.finishWithoutRun(job, ResultStatus.CANCELLED, `job ${job.id} was cancelled`);
      return 'cancelled';
    }
    await this.deps.queue.enqueue(job, channel);
    return 'queued';
  }

  // ── running ───────────────────────────────────────────────────────────────────────────────────────────────────

  /** Takes up to `max` jobs of the channel, leased to the caller; begin() each. */
  claim(channel: string, options: ClaimOptions): Promise<ClaimedJob[]> {
    return this.deps.queue.claim(channel, options);
  }

  /**
   * Starts a claimed job: RUNNING, and a ticket to run it with. Undefined when it must not run, and then the claim is
   * already dealt with: a stale delivery is acked; a cancelled job, or one whose worker or runner is missing, is
   * finished without a run (CANCELLED / OTHER_ERROR) and acked. Throws when that fails: the claim is not acked, and
   * the job is delivered again when its lease ends.
   */
  async begin(claim: ClaimedJob): Promise<RunTicket | undefined> {
    const job = claim.job;
    // No read per job: the queue holds the job's status (claimed = RUNNING), and cancellations reach this process on
    // the channel onCancel listens to; one heard before its claim came back is remembered here for a while.
    if (this.cancelledLately(job.id)) {
      await this.processor.finishWithoutRun(
        job,
        await this.findWorker(job.workerId),
        ResultStatus.CANCELLED,
        `job ${job.id} was cancelled`,
        claim,
      );
      return undefined;
    }
    const worker = await this.findWorker(job.workerId);
    const definition = worker === undefined ? undefined : this.deps.findDefinition(worker.runnerId);
    if (worker === undefined || definition === undefined) {
      const why =
        worker === undefined
          ? `worker ${job.workerId} no longer exists`
          : `runner ${worker.runnerId} is not available in this worker process`;
      await this.processor.finishWithoutRun(job, worker, ResultStatus.OTHER_ERROR, why, claim);
      return undefined;
    }
    this.events.onStarted(worker.name, Math.max(0, this.now() - Math.max(job.enqueueTime, job.runAfterTime)));
    const span = this.tracer?.start(`process ${claim.channel}`, 'consumer', job.trace, {
      'messaging.system': 'jobworkerp',
      'messaging.operation.type': 'process',
      'messaging.destination.name': claim.channel,
      'messaging.message.id': String(job.id),
      'jobworkerp.job.id': job.id,
      'jobworkerp.job.attempt': job.retried + 1,
      'jobworkerp.worker.id': worker.id,
      'jobworkerp.worker.name': worker.name,
      'jobworkerp.runner.name': definition.name,
      'jobworkerp.runner.type': RunnerType[definition.type] ?? String(definition.type),
    });
    return new Run(claim, worker, definition, job.grabbedUntilTime, span);
  }

  /**
   * Extends the queue lease of a begun job by `leaseMs`, and its RDB hold while it runs (a job from a row: the hold
   * must outlast the job's timeout, or a poller would take the row again). Returns false when the lease was lost
   * while the job runs: another worker may take it now, so the run must stop (then abandon() it).
   */
  async renew(ticket: RunTicket, leaseMs: number): Promise<boolean> {
    const run = this.own(ticket);
    const leased = await this.deps.queue.renew(run.claim, leaseMs);
    if (run.phase === 'running' && run.held !== undefined) {
      const until = this.now() + leaseMs + Math.max(run.job.timeout, 0);
      if (await this.deps.storage.jobs.grab(run.job.id, run.held, until)) run.held = until;
    }
    return leased || run.phase !== 'running';
  }

  /**
   * The run is over: WAIT_RESULT, then the result processing (retry row, or the final result stored, published and
   * released, next_workers, the next periodic run), then the ack. Returns 'retry' when a retry row was written (a
   * poller may want to look at once). Throws when the database is down: the claim is not acked and the job is
   * delivered again when its lease ends.
   */
  async end(ticket: RunTicket, run: RunRecord): Promise<'retry' | 'final'> {
    const owned = this.own(ticket);
    owned.phase = 'over';
    this.events.onRunEnded(owned.worker.name, Math.max(0, run.endTime - run.startTime));
    const { storeSuccess, storeFailure } = owned.worker;
    // WAIT_RESULT is worth a call only while a result is being written to the RDB; otherwise the queue's next step
    // (complete) follows at once
    if (owned.span !== undefined) return this.endTraced(owned, run, owned.span);
    if (run.status === ResultStatus.SUCCESS ? storeSuccess : storeFailure) {
      await this.deps.queue.markWaitResult(owned.claim);
    }
    return this.processor.process(owned.job, owned.worker, run, owned.held, owned.claim);
  }

  /**
   * end() while tracing: the run's span gets the result status (failed unless SUCCESS), the finishing steps a span of
   * their own under it, and next_workers jobs the run's context, so their runs are children of this one.
   */
  private async endTraced(owned: Run, run: RunRecord, span: TraceSpan): Promise<'retry' | 'final'> {
    const status = ResultStatus[run.status] ?? String(run.status);
    span.setAttributes({ 'jobworkerp.result.status': status });
    if (run.status !== ResultStatus.SUCCESS) span.fail(`the run ended with ${status}`);
    const context = span.context();
    const finishing = (this.tracer as JobTracer).start('finish job', 'internal', context, {
      'jobworkerp.job.id': owned.job.id,
    });
    try {
      const { storeSuccess, storeFailure } = owned.worker;
      if (run.status === ResultStatus.SUCCESS ? storeSuccess : storeFailure) {
        await this.deps.queue.markWaitResult(owned.claim);
      }
      const outcome = await this.processor.process(owned.job, owned.worker, run, owned.held, owned.claim, context);
      finishing.setAttributes({ 'jobworkerp.job.outcome': outcome });
      return outcome;
    } catch (err) {
      finishing.fail(err);
      span.fail(err);
      throw err;
    } finally {
      finishing.end();
      span.end();
    }
  }

  /** Shutdown: the job goes back unfinished (PENDING, its row hold freed), claimable again at once. */
  async giveBack(ticket: RunTicket): Promise<void> {
    const run = this.own(ticket);
    run.phase = 'over';
    if (run.span !== undefined) {
      run.span.setAttributes({ 'jobworkerp.job.outcome': 'given back' });
      run.span.end();
    }
    if (run.held !== undefined) await this.deps.storage.jobs.release(run.job.id);
    await this.deps.queue.release(run.claim);
    this.events.onGivenBack(run.claim.channel);
  }

  /**
   * The lease was lost and the run stopped: the job belongs to whoever claims it next, so nothing of it is touched
   * (not its status, row or result).
   */
  abandon(ticket: RunTicket): void {
    const run = this.own(ticket);
    run.phase = 'over';
    if (run.span !== undefined) {
      run.span.fail('the lease was lost: the job runs again where it is claimed next');
      run.span.end();
    }
    this.events.onLeaseLost(run.worker.name);
  }

  // ── cancelling ────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Cancels an unfinished job. The mark comes first, so an engine about to run the job (or running it) sees it; then
   * the job leaves the queue and its row the RDB, and a job nobody holds is finished here as CANCELLED.
   */
  async cancel(jobId: number): Promise<CancelOutcome> {
    const { queue, state, storage } = this.deps;
    const status = await this.status(jobId);
    // First the mark, which a poller holding the row and a retry about to be persisted look at. A claimed job is
    // announced by the queue's own cancel step, on the channel the engine that holds it listens to (it aborts the
    // run, or remembers the id for a claim still on its way back: see begin).
    await state.cancel(jobId, this.deps.cancelTtlMs, { announce: false });
    const queued = await queue.cancel(jobId);
    const row = await storage.jobs.find(jobId);
    const rowDeleted = row !== undefined && (await storage.jobs.delete(jobId));
    const rowHeld = row?.grabbedUntilTime !== undefined && row.grabbedUntilTime > this.now();
    // a held or running job is finished by the engine that holds it
    const pending = queued.state === 'waiting' ? queued.job : rowDeleted && !rowHeld ? row : undefined;
    if (pending !== undefined) {
      await this.finishWithoutRun(pending, ResultStatus.CANCELLED, `job ${jobId} was cancelled before it ran`);
      return 'cancelled';
    }
    return status !== undefined || rowDeleted || queued.state === 'claimed' ? 'stopping' : 'not-found';
  }

  /** Calls the handler for each cancellation in the cluster (to abort the run); returns an unsubscribe function. */
  onCancel(handler: (jobId: number) => void): Promise<() => Promise<void>> {
    return this.deps.state.onCancel((jobId) => {
      this.rememberCancel(jobId);
      handler(jobId);
    });
  }

  // ── looking up ────────────────────────────────────────────────────────────────────────────────────────────────

  /** Where an unfinished job stands; undefined once it is final (or never existed). */
  async status(jobId: number): Promise<JobStatus | undefined> {
    // the queue holds the status of the jobs in it; the state store that of the others (RDB rows)
    return (await this.deps.queue.status(jobId)) ?? (await this.deps.state.getStatus(jobId));
  }

  /** Every unfinished job, ordered by id. */
  async statuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    const [queued, others] = await Promise.all([this.deps.queue.statuses(), this.deps.state.listStatuses()]);
    const byId = new Map(others.map((s) => [s.jobId, s.status]));
    for (const s of queued) byId.set(s.jobId, s.status);
    return [...byId].map(([jobId, status]) => ({ jobId, status })).sort((a, b) => a.jobId - b.jobId);
  }

  /** An unfinished job: in the queue (waiting or claimed) or an RDB row. */
  async find(jobId: number): Promise<Job | undefined> {
    return (await this.deps.queue.find(jobId)) ?? (await this.deps.storage.jobs.find(jobId));
  }

  // ── restoring ─────────────────────────────────────────────────────────────────────────────────────────────────

  /** Puts WITH_BACKUP rows back into the queue (those not queued or running already); returns how many. */
  restore(includeGrabbed: boolean, limit?: number): Promise<number> {
    const { storage, queue, state, logger } = this.deps;
    return restoreBackedUpJobs(
      { rows: storage.jobs, findWorker: (id) => this.findWorker(id), queue, state, logger },
      { includeGrabbed, limit },
    );
  }

  /** At start: rebuilds an empty JobStateStore from the RDB, and restores backed-up jobs, as the options say. */
  async recover(options: RecoveryOptions): Promise<void> {
    if (options.rebuildState) await rebuildJobState({ rows: this.deps.storage.jobs, state: this.deps.state });
    if (options.restore !== 'none') await this.restore(options.restore === 'all');
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────────────────────

  /** A final result without a run: stored, published and released like any other. */
  private async finishWithoutRun(job: Job, status: ResultStatus, message: string): Promise<JobResult> {
    return this.processor.finishWithoutRun(job, await this.findWorker(job.workerId), status, message);
  }

  /** Notes a cancellation heard on the channel, for a claim of that job that comes back later (see begin). */
  private rememberCancel(jobId: number): void {
    const now = this.now();
    this.recentCancels.set(jobId, now + this.deps.cancelTtlMs);
    // bounded: the oldest notes go first (a Map keeps insertion order)
    for (const [id, until] of this.recentCancels) {
      if (until > now && this.recentCancels.size <= MAX_REMEMBERED_CANCELS) break;
      this.recentCancels.delete(id);
    }
  }

  private cancelledLately(jobId: number): boolean {
    const until = this.recentCancels.get(jobId);
    return until !== undefined && until > this.now();
  }

  private own(ticket: RunTicket): Run {
    if (!(ticket instanceof Run)) throw new Error(`job ${ticket.job.id}: not a ticket issued by begin()`);
    return ticket;
  }
}
