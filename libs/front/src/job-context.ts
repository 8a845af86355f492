import type { IdGenerator, Job, JobResult, Logger, ResultStatus, Runner, Worker } from '../../core/src/index.js';
import {
  CancelledError,
  checkMaxChars,
  InvalidArgumentError,
  MAX_WORKER_NAME_CHARS,
  NotFoundError,
  quote,
  TtlCache,
} from '../../core/src/index.js';
import type { JobRouter } from '../../jobs/src/index.js';
import type { JobQueue, JobStateStore, ResultBus } from '../../queue/src/index.js';
import type { Storage } from '../../storage/src/index.js';

/** What the job-facing services share. */
export interface JobServicesDeps {
  readonly storage: Pick<Storage, 'workers' | 'runners' | 'jobs' | 'results' | 'capabilities'>;
  readonly queue: JobQueue;
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  readonly router: JobRouter;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** how long a cancellation mark lives; also how long LISTEN_AFTER results are kept */
  readonly resultExpireMs: number;
  /** finishes a job that never ran (cancelled while pending): stores, publishes and releases it */
  readonly finishWithoutRun: (
    job: Job,
    worker: Worker | undefined,
    status: ResultStatus,
    message: string,
  ) => Promise<JobResult>;
  /** restores WITH_BACKUP jobs from the RDB into the queue */
  readonly restore: (includeGrabbed: boolean, limit: number | undefined) => Promise<number>;
}

/** Worker and runner lookups by id or name, cached briefly for the Enqueue hot path. */
export class WorkerResolver {
  private readonly byId: TtlCache<number, Worker>;
  private readonly byName: TtlCache<string, Worker>;
  private readonly runners: TtlCache<number, Runner>;

  constructor(storage: Pick<Storage, 'workers' | 'runners'>) {
    this.byId = new TtlCache((id) => storage.workers.find(id), 1000);
    this.byName = new TtlCache((name) => storage.workers.findByName(name), 1000);
    this.runners = new TtlCache((id) => storage.runners.find(id), 10_000);
  }

  /** The worker named by a request's oneof, or NOT_FOUND / INVALID_ARGUMENT with a message. */
  async resolve(ref: { workerId?: { value: number } | undefined; workerName?: string | undefined }): Promise<Worker> {
    if (ref.workerId !== undefined) {
      const w = await this.byId.get(ref.workerId.value);
      if (w === undefined) throw new NotFoundError(`worker ${ref.workerId.value} does not exist`);
      return w;
    }
    if (ref.workerName !== undefined && ref.workerName !== '') {
      // no worker can have a longer name: say so instead of looking it up
      checkMaxChars(ref.workerName, MAX_WORKER_NAME_CHARS, 'worker_name');
      const w = await this.byName.get(ref.workerName);
      if (w === undefined) throw new NotFoundError(`worker ${quote(ref.workerName)} does not exist`);
      return w;
    }
    throw new InvalidArgumentError('give the worker, by worker_id or worker_name');
  }

  runner(id: number): Promise<Runner | undefined> {
    return this.runners.get(id);
  }

  invalidate(): void {
    this.byId.clear();
    this.byName.clear();
  }
}

/** The part of a grpc-js server call these helpers use. */
export interface CallLike {
  /** true once the client cancelled the call or its deadline passed */
  readonly cancelled?: boolean;
  getDeadline(): Date | number;
  once(event: 'cancelled', listener: () => void): unknown;
}

/** Milliseconds left before the call's deadline; Infinity without one (the result buses' timers take any delay). */
export function remainingMs(call: CallLike): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return Infinity;
  return Math.max(0, at - Date.now());
}

/** An AbortSignal that fires when the client cancels the call. */
export function callSignal(call: CallLike): AbortSignal {
  const controller = new AbortController();
  const cancel = (): void => controller.abort(new CancelledError('client cancelled the call'));
  // a call can be over before its handler gets here (a short deadline on a busy server)
  if (call.cancelled === true) cancel();
  else call.once('cancelled', cancel);
  return controller.signal;
}
