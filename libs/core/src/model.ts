/**
 * Domain model of jobworkerp.
 *
 * Glossary
 * - runner: a kind of work (COMMAND, HTTP_REQUEST, ..., or a plugin). It publishes three schemas as proto source
 *   text: its settings, a job's args and a result item; by convention the first message in each text is used.
 * - worker: a named, configured use of a runner: its settings (protobuf bytes of the runner's settings message),
 *   retry policy, channel, queue type, response type, result storage flags, periodic interval, next workers.
 * - job: one request to a worker with args (protobuf bytes of the runner's args message), a priority, a timeout and
 *   a time to run after. A job keeps its id across retries and periodic runs.
 * - job result: the outcome of one run of a job. A job has a final result once it will not run again.
 * - channel: a named lane of work with a concurrency limit per worker process; each worker belongs to one.
 * - lease: how long a claimed job belongs to one worker process before another may take it over.
 *
 * Times are epoch milliseconds and durations milliseconds, everywhere. Ids are positive integers below 2^53.
 */
import {
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  RunnerType,
  JobStatus,
} from '../../proto/src/index.js';
import type { TraceContext } from './job-tracer.js';

export { JobStatus, Priority, QueueType, ResponseType, ResultStatus, RetryType, RunnerType };

export interface RetryPolicy {
  readonly type: RetryType;
  /** ms */
  readonly interval: number;
  /** ms; 0 = no clamp */
  readonly maxInterval: number;
  /** retries after the first run; 0 = no retry */
  readonly maxRetry: number;
  readonly basis: number;
}

export const NO_RETRY: RetryPolicy = Object.freeze({
  type: RetryType.NONE,
  interval: 0,
  maxInterval: 0,
  maxRetry: 0,
  basis: 2,
});

export interface Runner {
  readonly id: number;
  readonly name: string;
  readonly type: RunnerType;
  readonly settingsProto: string;
  readonly argsProto: string;
  readonly resultProto: string | undefined;
}

export type RunnerSpec = Omit<Runner, 'id'>;

export interface WorkerSpec {
  readonly name: string;
  readonly runnerId: number;
  readonly runnerSettings: Uint8Array;
  readonly retryPolicy: RetryPolicy;
  /** ms between periodic runs; 0 = not periodic */
  readonly periodicInterval: number;
  /** undefined = the default channel */
  readonly channel: string | undefined;
  readonly queueType: QueueType;
  readonly responseType: ResponseType;
  readonly storeSuccess: boolean;
  readonly storeFailure: boolean;
  readonly nextWorkers: readonly number[];
  readonly useStatic: boolean;
}

export interface Worker extends WorkerSpec {
  readonly id: number;
}

export interface Job {
  readonly id: number;
  readonly workerId: number;
  readonly args: Uint8Array;
  readonly uniqKey: string | undefined;
  readonly enqueueTime: number;
  /** set while a worker holds the job (RDB-backed jobs) */
  readonly grabbedUntilTime: number | undefined;
  /** 0 = as soon as possible */
  readonly runAfterTime: number;
  readonly retried: number;
  readonly priority: Priority;
  /** ms; 0 = no timeout */
  readonly timeout: number;
  /**
   * The trace context of the span the job was created in (its Enqueue call, or the run that chained it), when
   * tracing is on; the spans of its runs are its children. Not part of the wire messages: it travels beside them.
   */
  readonly trace?: TraceContext | undefined;
}

export interface JobResult {
  readonly id: number;
  readonly jobId: number;
  readonly workerId: number;
  readonly workerName: string;
  readonly args: Uint8Array;
  readonly uniqKey: string | undefined;
  readonly status: ResultStatus;
  readonly output: readonly Uint8Array[];
  readonly retried: number;
  readonly maxRetry: number;
  readonly priority: Priority;
  readonly timeout: number;
  readonly enqueueTime: number;
  readonly runAfterTime: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly responseType: ResponseType;
  readonly storeSuccess: boolean;
  readonly storeFailure: boolean;
}

/** Paging of list queries. */
export interface Page {
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

/** A result status after which the job will not run again (for this attempt series). */
export function isFinalStatus(status: ResultStatus): boolean {
  return status !== ResultStatus.ERROR_AND_RETRY;
}

/** What a schedule does about ticks that came while no process could fire them (all were down). */
export type MissedTickPolicy = 'skip' | 'run-once';
/** What a tick does while the job of the schedule's previous tick is not finished. */
export type OverlapPolicy = 'allow' | 'skip';
/** Who owns a schedule: the Schedule RPCs, or the cron file (CRON_FILE), which alone changes its schedules. */
export type ScheduleOrigin = 'api' | 'file';

/**
 * A cron schedule: each tick of `cron` (in `timeZone`) enqueues one job for the worker, once across the cluster.
 * The worker is kept as it was given: by id, or by name (looked up at each tick, so the worker may be re-created).
 */
export interface ScheduleSpec {
  readonly name: string;
  /** 5, 6 or 7 fields (see cron-expression.ts) */
  readonly cron: string;
  /** IANA name */
  readonly timeZone: string;
  readonly workerId: number | undefined;
  readonly workerName: string | undefined;
  readonly args: Uint8Array;
  readonly priority: Priority;
  readonly uniqKey: string | undefined;
  /** of each job; ms, 0 = none */
  readonly timeout: number;
  readonly missedTick: MissedTickPolicy;
  readonly overlap: OverlapPolicy;
  readonly origin: ScheduleOrigin;
}

export interface Schedule extends ScheduleSpec {
  readonly id: number;
  /** the next tick to fire (epoch ms); 0 when the expression names no later time */
  readonly nextTickTime: number;
  /** the last tick fired or skipped; 0 before the first */
  readonly lastTickTime: number;
  /** the job of the last tick that enqueued one */
  readonly lastJobId: number | undefined;
}
