/**
 * Dead letters: a job that ends in MAX_RETRY or FATAL_ERROR (and, per worker, CANCELLED, ABORT or OTHER_ERROR; see
 * libs/core/src/dead-letter.ts) is kept with its last result, whatever the worker's store_failure says, so an
 * operator can list it, requeue it as a new job, or purge it.
 *
 * - record() is called by the result processor where a result is final, before the job's status, uniq_key and row
 *   are released: if it fails with an outage the claim stays unacked and the job is delivered again, and the insert
 *   is idempotent per attempt (job_id, retried, run_after_time), so a second delivery records nothing twice.
 * - A periodic worker's run is never the end of its job (the next run is scheduled), so it makes no dead letter.
 * - Retention runs after each insert: what died longer ago than the retention age, and all but the newest
 *   `maxCount`, is deleted. A failure there is logged, not thrown: it never holds a job back.
 * - requeue() makes a new job (new id, retried 0, the same args unless new ones are given, the same uniq_key,
 *   priority and timeout) and routes it like any Enqueue. The dead letter is marked with the new job's id first, so
 *   two requeues at once cannot both enqueue; if the enqueue fails the mark is taken back.
 * - Per-worker options (turn off, extra statuses) live in their own table, keyed by worker id: WorkerData stays as
 *   upstream has it. A worker without options follows the configured default (DEAD_LETTER_ENABLED).
 */
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPolicy,
  DeadLetterQuery,
  IdGenerator,
  Job,
  JobResult,
  Logger,
  Worker,
} from '../../core/src/index.js';
import {
  AlreadyExistsError,
  checkDeadLetterFilter,
  checkDeadLetterPolicy,
  coerceError,
  keepsDeadLetter,
  NotFoundError,
  TtlCache,
} from '../../core/src/index.js';
import type { DeadLetterRepository } from '../../storage/src/index.js';
import { jobLogFields } from './job-log.js';
import type { Route, RoutableWorker } from './job-router.js';

export interface DeadLetterSettings {
  /** whether workers without options of their own keep dead letters. @default true */
  readonly enabled: boolean;
  /** dead letters older than this are deleted (ms) */
  readonly retentionMs: number;
  /** at most this many dead letters are kept; the oldest go first */
  readonly maxCount: number;
}

export interface DeadLetterKeeperDeps {
  readonly repo: DeadLetterRepository;
  readonly settings: DeadLetterSettings;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  readonly findWorker: (id: number) => Promise<Worker | undefined>;
  /** the normal routing of a new job (JobLifecycle.enqueue): uniq_key rules apply */
  readonly enqueue: (job: Job, worker: RoutableWorker) => Promise<Route>;
  /** how long a worker's options are reused before they are read again. @default 2000 */
  readonly policyCacheMs?: number;
  readonly now?: () => number;
}

/** A worker's options as they apply: its own, or the default (`stored` false). */
export interface EffectivePolicy extends DeadLetterPolicy {
  readonly stored: boolean;
}

/** What requeueAll did: the new job of each requeued dead letter, and why the others were not. */
export interface RequeueAllOutcome {
  readonly requeued: ReadonlyArray<{ readonly deadLetterId: number; readonly jobId: number }>;
  readonly failed: ReadonlyArray<{ readonly deadLetterId: number; readonly error: Error }>;
}

/** The most dead letters one requeueAll call requeues. */
export const MAX_REQUEUE_ALL = 10_000;
const REQUEUE_PAGE = 500;

export class DeadLetterKeeper {
  private readonly policies: TtlCache<number, DeadLetterPolicy>;
  private readonly now: () => number;

  constructor(private readonly deps: DeadLetterKeeperDeps) {
    this.now = deps.now ?? Date.now;
    this.policies = new TtlCache((id) => deps.repo.findPolicy(id), deps.policyCacheMs ?? 2000, this.now);
  }

  /**
   * Keeps the final result as a dead letter when the worker's options say so; returns whether one was recorded now
   * (false also when this attempt already is one). Throws what the database throws.
   */
  async record(job: Job, worker: Worker | undefined, result: JobResult): Promise<boolean> {
    if (worker !== undefined && worker.periodicInterval > 0) return false;
    const policy = await this.policyOf(job.workerId);
    if (!keepsDeadLetter(result.status, policy)) return false;
    const letter: DeadLetter = {
      id: this.deps.ids.next(),
      jobId: job.id,
      workerId: job.workerId,
      workerName: worker?.name ?? '',
      // the result's args: the job's, or none when a job given up as poison is recorded slim
      args: result.args,
      uniqKey: job.uniqKey,
      priority: job.priority,
      timeout: job.timeout,
      enqueueTime: job.enqueueTime,
      runAfterTime: job.runAfterTime,
      retried: job.retried,
      maxRetry: result.maxRetry,
      status: result.status,
      output: result.output,
      startTime: result.startTime,
      endTime: result.endTime,
      diedAt: this.now(),
      requeuedJobId: undefined,
      requeuedAt: undefined,
    };
    try {
      await this.deps.repo.insert(letter);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      this.deps.logger.info(
        { ...jobLogFields(job, worker), retried: job.retried },
        'this attempt already is a dead letter',
      );
      return false;
    }
    await this.prune();
    return true;
  }

  /** Applies the retention (age and count); logs instead of throwing. Returns how many were deleted. */
  async prune(): Promise<number> {
    const { retentionMs, maxCount } = this.deps.settings;
    try {
      return await this.deps.repo.prune(this.now() - retentionMs, maxCount);
    } catch (err) {
      this.deps.logger.warn({ err: coerceError(err) }, 'could not apply the dead-letter retention; tried again later');
      return 0;
    }
  }

  list(query: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.deps.repo.list(query);
  }

  count(filter: DeadLetterFilter): Promise<number> {
    return this.deps.repo.count(filter);
  }

  find(id: number): Promise<DeadLetter | undefined> {
    return this.deps.repo.find(id);
  }

  /**
   * Runs the dead letter's job again as a new job (with `args` instead of its own when given); returns the new job's
   * id. NotFoundError when the dead letter or its worker is gone, AlreadyExistsError when it was requeued already or
   * its uniq_key is held by an unfinished job.
   */
  async requeue(id: number, args?: Uint8Array): Promise<number> {
    const letter = await this.deps.repo.find(id);
    if (letter === undefined) throw new NotFoundError(`dead letter ${id} does not exist (purged, or never kept)`);
    return this.requeueLetter(letter, args);
  }

  /**
   * Requeues every dead letter the filter matches that was not requeued yet (at most `limit`, and at most
   * MAX_REQUEUE_ALL), oldest last as listed; one that fails does not stop the others.
   */
  async requeueAll(filter: DeadLetterFilter, limit = MAX_REQUEUE_ALL): Promise<RequeueAllOutcome> {
    checkDeadLetterFilter(filter);
    const cap = Math.min(limit, MAX_REQUEUE_ALL);
    const requeued: Array<{ deadLetterId: number; jobId: number }> = [];
    const failed: Array<{ deadLetterId: number; error: Error }> = [];
    // requeued ones leave the `requeued: false` filter, so each page starts after the ones that failed
    while (requeued.length + failed.length < cap) {
      const page = await this.deps.repo.list({
        ...filter,
        requeued: false,
        offset: failed.length,
        limit: Math.min(REQUEUE_PAGE, cap - requeued.length - failed.length),
      });
      if (page.length === 0) break;
      for (const letter of page) {
        try {
          requeued.push({ deadLetterId: letter.id, jobId: await this.requeueLetter(letter, undefined) });
        } catch (err) {
          failed.push({ deadLetterId: letter.id, error: coerceError(err) });
        }
      }
    }
    return { requeued, failed };
  }

  /** Deletes what the filter matches; returns how many. */
  purge(filter: DeadLetterFilter): Promise<number> {
    return this.deps.repo.deleteMatching(filter);
  }

  /** The worker's options as they apply now. */
  async policyOf(workerId: number): Promise<EffectivePolicy> {
    const stored = await this.policies.get(workerId);
    return stored !== undefined
      ? { ...stored, stored: true }
      : { workerId, enabled: this.deps.settings.enabled, extraStatuses: [], stored: false };
  }

  /** Stores a worker's own options (NotFoundError when the worker does not exist). */
  async setPolicy(policy: DeadLetterPolicy): Promise<void> {
    checkDeadLetterPolicy(policy);
    if ((await this.deps.findWorker(policy.workerId)) === undefined) {
      throw new NotFoundError(`worker ${policy.workerId} does not exist`);
    }
    await this.deps.repo.savePolicy(policy, this.now());
    this.policies.invalidate(policy.workerId);
  }

  /** Drops a worker's own options: it follows the default again. Returns whether it had any. */
  async resetPolicy(workerId: number): Promise<boolean> {
    const deleted = await this.deps.repo.deletePolicy(workerId);
    this.policies.invalidate(workerId);
    return deleted;
  }

  private async requeueLetter(letter: DeadLetter, args: Uint8Array | undefined): Promise<number> {
    if (letter.requeuedJobId !== undefined) {
      throw new AlreadyExistsError(
        `dead letter ${letter.id} was already requeued as job ${letter.requeuedJobId}; if that job died too, requeue its own dead letter`,
      );
    }
    const worker = await this.deps.findWorker(letter.workerId);
    if (worker === undefined) {
      throw new NotFoundError(
        `worker ${letter.workerId} ("${letter.workerName}") of dead letter ${letter.id} no longer exists, so it cannot run again; purge it instead`,
      );
    }
    const now = this.now();
    const job: Job = {
      id: this.deps.ids.next(),
      workerId: worker.id,
      args: args ?? letter.args,
      uniqKey: letter.uniqKey,
      enqueueTime: now,
      grabbedUntilTime: undefined,
      runAfterTime: 0,
      retried: 0,
      priority: letter.priority,
      timeout: letter.timeout,
    };
    if (!(await this.deps.repo.markRequeued(letter.id, job.id, now))) {
      const current = await this.deps.repo.find(letter.id);
      if (current === undefined) throw new NotFoundError(`dead letter ${letter.id} was purged meanwhile`);
      throw new AlreadyExistsError(
        `dead letter ${letter.id} was already requeued as job ${current.requeuedJobId ?? '?'}`,
      );
    }
    try {
      await this.deps.enqueue(job, worker);
    } catch (err) {
      await this.deps.repo.unmarkRequeued(letter.id, job.id).catch((undo: unknown) => {
        this.deps.logger.error(
          { ...jobLogFields(job, worker), err: coerceError(undo), deadLetterId: letter.id },
          'the requeue failed and its mark on the dead letter could not be taken back',
        );
      });
      throw err;
    }
    return job.id;
  }
}
