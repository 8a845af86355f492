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
 *            │      ──periodic worker──▶ result stored/published, next run rescheduled ──────────┘
 *            ▼
 *          final: result stored (per store_success / store_failure), a failure kept as a dead letter (MAX_RETRY,
 *                 FATAL_ERROR, per worker more; see dead-letters.ts), published (kept unless NO_RESULT), status
 *                 deleted, uniq_key released, row deleted, next_workers enqueued on SUCCESS; claim acked
 *
 *   cancel (F): marks the job cancelled for every process, removes it from the queue or its row from the RDB;
 *     - a job nobody holds (waiting in the queue, or an unheld row) is finished here as CANCELLED;
 *     - a RUNNING job: the engine that runs it hears the mark (onCancel), aborts the run, and end() finishes it as
 *       CANCELLED (a retry is not persisted, a periodic series is not continued);
 *     - a job claimed but not yet begun, or a row a poller holds: begin() / queueDue() see the mark and finish it.
 *   A delivery whose job has no status (and no row) is stale: an earlier delivery finished it and its process died
 *   before the ack. begin() acks it without running it.
 *
 * Guarantees:
 * - at least once: a job leaves the queue only by an ack after its result (or its retry row) is stored; a process
 *   that dies at any moment holds only a lease, and the job is delivered again when it ends;
 * - never twice at once: the lease (and a row's hold) is renewed while the job runs; a renewal that finds the lease
 *   lost stops the run before anyone else may take it;
 * - a result is never missed: it is stored before it is published, and kept for late listeners; a second delivery
 *   of one attempt stores nothing and publishes nothing again;
 * - retries are persisted: a retry is an RDB row before the claim is acked, so no retry is lost, whatever its delay.
 */
import type { IdGenerator, Job, JobResult, Logger, Worker } from '../../core/src/index.js';
import { JobStatus, ResultStatus, TtlCache } from '../../core/src/index.js';
import type { ClaimedJob, ClaimOptions, JobQueue, JobStateStore, ResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { rebuildJobState, restoreBackedUpJobs } from './job-restorer.js';
import type { Route, RoutableWorker } from './job-router.js';
import { JobRouter } from './job-router.js';
import type { DeadLetterSettings } from './dead-letters.js';
import { DeadLetterKeeper } from './dead-letters.js';
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
  private readonly now: () => number;

  constructor(private readonly deps: JobLifecycleDeps) {
    const { storage, queue, state, bus, ids, logger } = deps;
    this.now = deps.now ?? Date.now;
    this.workers = new TtlCache((id) => storage.workers.find(id), deps.workerCacheMs ?? 2000, this.now);
    this.router = new JobRouter({ queue, rows: storage.jobs, state, now: this.now, onDueRow: deps.onDueRow });
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
      router: this.router,
      findWorker: (id) => this.findWorker(id),
      findDefinition: deps.findDefinition,
      ids,
      logger,
      pingStorage: () => storage.ping(),
      finishRetryMs: deps.finishRetryMs,
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
    return (await this.deps.queue.find(jobId)) !== undefined;
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
    const { queue, state, logger } = this.deps;
    const job = claim.job;
    const [cancelled, status] = await Promise.all([state.isCancelled(job.id), state.getStatus(job.id)]);
    if (status === undefined && job.grabbedUntilTime === undefined) {
      // Every unfinished job has a status. This delivery is stale: an earlier one finished the job and its process
      // died before the ack (the lease expired and the queue handed the job out again). Row-backed jobs are exempt:
      // their RDB row, not the status, says they are unfinished.
      logger.info({ jobId: job.id }, 'skipped a delivery of a job that is already finished');
      await queue.ack(claim);
      return undefined;
    }
    if (cancelled) {
      await this.finishWithoutRun(job, ResultStatus.CANCELLED, `job ${job.id} was cancelled`);
      await queue.ack(claim);
      return undefined;
    }
    const worker = await this.findWorker(job.workerId);
    const definition = worker === undefined ? undefined : this.deps.findDefinition(worker.runnerId);
    if (worker === undefined || definition === undefined) {
      const why =
        worker === undefined
          ? `worker ${job.workerId} no longer exists`
          : `runner ${worker.runnerId} is not available in this worker process`;
      await this.processor.finishWithoutRun(job, worker, ResultStatus.OTHER_ERROR, why);
      await queue.ack(claim);
      return undefined;
    }
    await state.setStatus(job.id, JobStatus.RUNNING);
    return new Run(claim, worker, definition, job.grabbedUntilTime);
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
    await this.deps.state.setStatus(owned.job.id, JobStatus.WAIT_RESULT);
    const next = await this.processor.process(owned.job, owned.worker, run, owned.held);
    await this.deps.queue.ack(owned.claim);
    return next;
  }

  /** Shutdown: the job goes back unfinished (PENDING, its row hold freed), claimable again at once. */
  async giveBack(ticket: RunTicket): Promise<void> {
    const run = this.own(ticket);
    run.phase = 'over';
    await this.deps.state.setStatus(run.job.id, JobStatus.PENDING);
    if (run.held !== undefined) await this.deps.storage.jobs.release(run.job.id);
    await this.deps.queue.release(run.claim);
  }

  /**
   * The lease was lost and the run stopped: the job belongs to whoever claims it next, so nothing of it is touched
   * (not its status, row or result).
   */
  abandon(ticket: RunTicket): void {
    this.own(ticket).phase = 'over';
  }

  // ── cancelling ────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Cancels an unfinished job. The mark comes first, so an engine about to run the job (or running it) sees it; then
   * the job leaves the queue and its row the RDB, and a job nobody holds is finished here as CANCELLED.
   */
  async cancel(jobId: number): Promise<CancelOutcome> {
    const { queue, state, storage } = this.deps;
    const status = await state.getStatus(jobId);
    await state.cancel(jobId, this.deps.cancelTtlMs);
    const queued = await queue.find(jobId);
    const fromQueue = queued !== undefined && (await queue.remove(jobId));
    const row = await storage.jobs.find(jobId);
    const rowDeleted = row !== undefined && (await storage.jobs.delete(jobId));
    const rowHeld = row?.grabbedUntilTime !== undefined && row.grabbedUntilTime > this.now();
    // a held or running job is finished by the engine that holds it
    const pending = fromQueue ? queued : rowDeleted && !rowHeld ? row : undefined;
    if (pending !== undefined) {
      await this.finishWithoutRun(pending, ResultStatus.CANCELLED, `job ${jobId} was cancelled before it ran`);
      return 'cancelled';
    }
    return status !== undefined || rowDeleted ? 'stopping' : 'not-found';
  }

  /** Calls the handler for each cancellation in the cluster (to abort the run); returns an unsubscribe function. */
  onCancel(handler: (jobId: number) => void): Promise<() => Promise<void>> {
    return this.deps.state.onCancel(handler);
  }

  // ── looking up ────────────────────────────────────────────────────────────────────────────────────────────────

  /** Where an unfinished job stands; undefined once it is final (or never existed). */
  status(jobId: number): Promise<JobStatus | undefined> {
    return this.deps.state.getStatus(jobId);
  }

  /** Every unfinished job, ordered by id. */
  statuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    return this.deps.state.listStatuses();
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

  private own(ticket: RunTicket): Run {
    if (!(ticket instanceof Run)) throw new Error(`job ${ticket.job.id}: not a ticket issued by begin()`);
    return ticket;
  }
}
