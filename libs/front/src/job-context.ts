import type { Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { IdGenerator, JobTracer, Logger, Runner, TraceSpan, Worker } from '../../core/src/index.js';
import {
  CancelledError,
  checkMaxChars,
  traceContextFrom,
  InvalidArgumentError,
  MAX_WORKER_NAME_CHARS,
  NotFoundError,
  quote,
  TtlCache,
} from '../../core/src/index.js';
import type { JobLifecycle } from '../../jobs/src/index.js';
import { callStatusOf } from './grpc-errors.js';
import type { ResultBus } from '../../queue/src/index.js';
import type { Storage } from '../../storage/src/index.js';

/** What the job-facing services share. */
export interface JobServicesDeps {
  readonly storage: Pick<Storage, 'workers' | 'runners' | 'jobs' | 'results' | 'capabilities'>;
  /** enqueue, cancel, statuses and restore: the job lifecycle, shared with the engine of this process if any */
  readonly lifecycle: Pick<JobLifecycle, 'enqueue' | 'cancel' | 'find' | 'status' | 'statuses' | 'restore'>;
  /** waiting for final results (DIRECT, Listen, ListenStreamByWorker) */
  readonly bus: ResultBus;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** a server span per enqueueing call, the parent of its jobs' runs. @default no tracing */
  readonly tracer?: JobTracer | undefined;
}

/**
 * The server span of an enqueueing call (`service` like `jobworkerp.service.JobService`), continuing the caller's
 * trace when its metadata has a valid `traceparent` (and `tracestate`); a missing or malformed one starts a new trace.
 */
export function startCallSpan(
  tracer: JobTracer,
  service: string,
  method: string,
  metadata: Pick<Metadata, 'get'>,
): TraceSpan {
  const parent = traceContextFrom(metadata.get('traceparent')[0], metadata.get('tracestate')[0]);
  return tracer.start(`${service}/${method}`, 'server', parent, {
    'rpc.system': 'grpc',
    'rpc.service': service,
    'rpc.method': method,
  });
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

/** Ends a call's span with the status code the call answers; a failure says only what the caller was told. */
export function endCallSpan(span: TraceSpan, method: string, thrown?: unknown): void {
  if (thrown === undefined) {
    span.setAttributes({ 'rpc.grpc.status_code': status.OK });
  } else {
    const { code, details } = callStatusOf(thrown, method);
    span.setAttributes({ 'rpc.grpc.status_code': code });
    span.fail(details);
  }
  span.end();
}
