/**
 * Where a job goes when it is created (Enqueue, next_workers) — the one routing rule of the system:
 * - a future run_after_time, a periodic worker, or FORCED_RDB: an RDB row only; workers poll due rows;
 * - WITH_BACKUP: an RDB row (restorable) and the queue;
 * - NORMAL: the queue only.
 * uniq_key is reserved for every job, whatever its route, and freed when the job is final; the queue and the
 * JobStateStore share one set of reservations (the queue reserves it for a queue-only job in its enqueue step).
 */
import type { Job, Worker } from '../../core/src/index.js';
import { AlreadyExistsError, firstPeriodicRunTime, JobStatus, QueueType, quote } from '../../core/src/index.js';
import { DEFAULT_CHANNEL } from '../../config/src/index.js';
import type { JobQueue, JobStateStore } from '../../queue/src/index.js';
import type { JobEvents } from './job-events.js';

/** The few RDB operations routing needs (libs/storage's JobRepository has them). */
export interface JobRowStore {
  insert(job: Job): Promise<void>;
  delete(id: number): Promise<boolean>;
}

export type RoutableWorker = Pick<Worker, 'id' | 'name' | 'channel' | 'queueType' | 'periodicInterval'>;

export type Route = 'queue' | 'rdb' | 'rdb+queue';

export interface JobRouterDeps {
  readonly queue: JobQueue;
  readonly rows: JobRowStore;
  readonly state: JobStateStore;
  readonly now?: () => number;
  /** told when an RDB row was stored, so pollers look at once (it may be due before their next tick) */
  readonly onDueRow?: () => void;
  /** told of each job stored */
  readonly events?: Pick<JobEvents, 'onEnqueued'>;
}

export function channelOf(worker: Pick<Worker, 'channel'>): string {
  return worker.channel ?? DEFAULT_CHANNEL;
}

export function routeOf(job: Pick<Job, 'runAfterTime'>, worker: RoutableWorker, now: number): Route {
  if (job.runAfterTime > now || worker.periodicInterval > 0 || worker.queueType === QueueType.FORCED_RDB) return 'rdb';
  return worker.queueType === QueueType.WITH_BACKUP ? 'rdb+queue' : 'queue';
}

export class JobRouter {
  private readonly now: () => number;

  constructor(private readonly deps: JobRouterDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Stores the job where its route says; it is PENDING from then on. Throws AlreadyExistsError when its uniq_key is
   * held by an unfinished job; on any failure nothing of the job is left behind.
   *
   * A queue-only job costs one queue call: the queue reserves the uniq_key and holds the job's status in the same
   * atomic step (and coalesces concurrent enqueues of a channel into one call). A job with an RDB row reserves its
   * uniq_key first; a row-only job also records PENDING in the state store, since no queue holds it.
   */
  async enqueue(job: Job, worker: RoutableWorker): Promise<Route> {
    const { queue, rows, state } = this.deps;
    const now = this.now();
    const route = routeOf(job, worker, now);
    // RDB rows are polled by run_after_time > 0: a row that is due now gets "now"; a periodic series starts on the
    // grid its run_after_time sets
    const runAfterTime =
      worker.periodicInterval > 0
        ? firstPeriodicRunTime(job.runAfterTime, worker.periodicInterval, now)
        : job.runAfterTime;
    const stored: Job =
      route === 'rdb' && runAfterTime === 0 ? { ...job, runAfterTime: now } : { ...job, runAfterTime };

    if (route === 'queue') {
      const channel = channelOf(worker);
      await queue.enqueue(stored, channel);
      this.deps.events?.onEnqueued(worker.name, channel);
      return route;
    }
    if (job.uniqKey !== undefined && !(await state.acquireUniqKey(job.uniqKey, job.id))) {
      throw new AlreadyExistsError(`a job with uniq_key ${quote(job.uniqKey)} is not finished yet`);
    }
    let rowWritten = false;
    try {
      if (route === 'rdb') await state.setStatus(job.id, JobStatus.PENDING);
      await rows.insert(stored);
      rowWritten = true;
      // WITH_BACKUP: the queue holds the job's status while it is queued; the uniq_key is already this job's
      if (route === 'rdb+queue') await queue.enqueue(stored, channelOf(worker));
    } catch (err) {
      await this.undo(job, rowWritten);
      throw err;
    }
    this.deps.events?.onEnqueued(worker.name, channelOf(worker));
    if (route === 'rdb') this.deps.onDueRow?.();
    return route;
  }

  private async undo(job: Job, rowWritten: boolean): Promise<void> {
    const { rows, state } = this.deps;
    const steps: Array<Promise<unknown>> = [state.deleteStatus(job.id)];
    if (rowWritten) steps.push(rows.delete(job.id));
    if (job.uniqKey !== undefined) steps.push(state.releaseUniqKey(job.uniqKey, job.id));
    await Promise.allSettled(steps);
  }
}
