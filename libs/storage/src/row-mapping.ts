/**
 * Conversions between domain objects and table rows. Reads are strict: a value that cannot be what the domain
 * expects (an id beyond 2^53, a malformed next_workers list) is a corrupt row and throws InternalError.
 */
import type { Insertable, Selectable } from 'kysely';
import type {
  Job,
  JobResult,
  MissedTickPolicy,
  OverlapPolicy,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  Runner,
  RunnerType,
  Schedule,
  ScheduleOrigin,
  ScheduleSpec,
  Worker,
  WorkerSpec,
} from '../../core/src/index.js';
import { InternalError } from '../../core/src/index.js';
import { ResultOutput } from '../../proto/src/index.js';
import type { FiringLease } from './ports.js';
import type { JobResultTable, JobTable, RunnerTable, ScheduleTable, WorkerTable } from './schema.js';

/** Decodes an integer column; mysql2 returns a string for BIGINT values it cannot represent as a number. */
export function toSafeInteger(value: number | string | bigint, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new InternalError(`column ${column} holds ${String(value)}, which is not an integer below 2^53`);
  }
  return n;
}

const toBool = (v: number): boolean => v !== 0;
const fromBool = (b: boolean): 0 | 1 => (b ? 1 : 0);

/** The drivers bind Buffers (a bare Uint8Array is not a BLOB to mysql2); wraps without copying. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function runnerToRow(r: Runner): Insertable<RunnerTable> {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    settings_proto: r.settingsProto,
    args_proto: r.argsProto,
    result_proto: r.resultProto ?? null,
  };
}

export function runnerFromRow(row: Selectable<RunnerTable>): Runner {
  return {
    id: toSafeInteger(row.id, 'runner.id'),
    name: row.name,
    type: row.type as RunnerType,
    settingsProto: row.settings_proto,
    argsProto: row.args_proto,
    resultProto: row.result_proto ?? undefined,
  };
}

/** The columns a worker spec sets (everything but id and the timestamps). */
export function workerSpecToRow(w: WorkerSpec): Omit<Insertable<WorkerTable>, 'id' | 'created_at' | 'updated_at'> {
  return {
    name: w.name,
    runner_id: w.runnerId,
    runner_settings: toBuffer(w.runnerSettings),
    retry_type: w.retryPolicy.type,
    retry_interval: w.retryPolicy.interval,
    retry_max_interval: w.retryPolicy.maxInterval,
    retry_max_retry: w.retryPolicy.maxRetry,
    retry_basis: w.retryPolicy.basis,
    periodic_interval: w.periodicInterval,
    channel: w.channel ?? null,
    queue_type: w.queueType,
    response_type: w.responseType,
    store_success: fromBool(w.storeSuccess),
    store_failure: fromBool(w.storeFailure),
    next_workers: w.nextWorkers.join(','),
    use_static: fromBool(w.useStatic),
  };
}

export function workerFromRow(row: Selectable<WorkerTable>): Worker {
  return {
    id: toSafeInteger(row.id, 'worker.id'),
    name: row.name,
    runnerId: toSafeInteger(row.runner_id, 'worker.runner_id'),
    runnerSettings: row.runner_settings,
    retryPolicy: {
      type: row.retry_type as RetryType,
      interval: toSafeInteger(row.retry_interval, 'worker.retry_interval'),
      maxInterval: toSafeInteger(row.retry_max_interval, 'worker.retry_max_interval'),
      maxRetry: row.retry_max_retry,
      basis: row.retry_basis,
    },
    periodicInterval: toSafeInteger(row.periodic_interval, 'worker.periodic_interval'),
    channel: row.channel ?? undefined,
    queueType: row.queue_type as QueueType,
    responseType: row.response_type as ResponseType,
    storeSuccess: toBool(row.store_success),
    storeFailure: toBool(row.store_failure),
    nextWorkers: parseIdList(row.next_workers, 'worker.next_workers'),
    useStatic: toBool(row.use_static),
  };
}

function parseIdList(text: string, column: string): number[] {
  if (text === '') return [];
  return text.split(',').map((part) => {
    if (!/^\d+$/.test(part)) throw new InternalError(`column ${column} holds "${text}", not a comma list of ids`);
    return toSafeInteger(part, column);
  });
}

export function jobToRow(j: Job): Insertable<JobTable> {
  return {
    id: j.id,
    worker_id: j.workerId,
    args: toBuffer(j.args),
    uniq_key: j.uniqKey ?? null,
    enqueue_time: j.enqueueTime,
    grabbed_until_time: j.grabbedUntilTime ?? 0,
    run_after_time: j.runAfterTime,
    retried: j.retried,
    priority: j.priority,
    timeout: j.timeout,
    traceparent: j.trace?.traceparent ?? null,
    tracestate: j.trace?.tracestate ?? null,
  };
}

export function jobFromRow(row: Selectable<JobTable>): Job {
  const grabbedUntil = toSafeInteger(row.grabbed_until_time, 'job.grabbed_until_time');
  return {
    id: toSafeInteger(row.id, 'job.id'),
    workerId: toSafeInteger(row.worker_id, 'job.worker_id'),
    args: row.args,
    uniqKey: row.uniq_key ?? undefined,
    enqueueTime: toSafeInteger(row.enqueue_time, 'job.enqueue_time'),
    grabbedUntilTime: grabbedUntil === 0 ? undefined : grabbedUntil,
    runAfterTime: toSafeInteger(row.run_after_time, 'job.run_after_time'),
    retried: row.retried,
    priority: row.priority as Priority,
    timeout: toSafeInteger(row.timeout, 'job.timeout'),
    ...(row.traceparent === null
      ? {}
      : {
          trace:
            row.tracestate === null
              ? { traceparent: row.traceparent }
              : { traceparent: row.traceparent, tracestate: row.tracestate },
        }),
  };
}

export function jobResultToRow(r: JobResult): Insertable<JobResultTable> {
  return {
    id: r.id,
    job_id: r.jobId,
    worker_id: r.workerId,
    worker_name: r.workerName,
    args: toBuffer(r.args),
    uniq_key: r.uniqKey ?? null,
    status: r.status,
    output: Buffer.from(ResultOutput.encode({ items: r.output.map(toBuffer) }).finish()),
    retried: r.retried,
    max_retry: r.maxRetry,
    priority: r.priority,
    timeout: r.timeout,
    enqueue_time: r.enqueueTime,
    run_after_time: r.runAfterTime,
    start_time: r.startTime,
    end_time: r.endTime,
    response_type: r.responseType,
    store_success: fromBool(r.storeSuccess),
    store_failure: fromBool(r.storeFailure),
  };
}

export function jobResultFromRow(row: Selectable<JobResultTable>): JobResult {
  return {
    id: toSafeInteger(row.id, 'job_result.id'),
    jobId: toSafeInteger(row.job_id, 'job_result.job_id'),
    workerId: toSafeInteger(row.worker_id, 'job_result.worker_id'),
    workerName: row.worker_name,
    args: row.args,
    uniqKey: row.uniq_key ?? undefined,
    status: row.status as ResultStatus,
    output: decodeOutput(row.output),
    retried: row.retried,
    maxRetry: row.max_retry,
    priority: row.priority as Priority,
    timeout: toSafeInteger(row.timeout, 'job_result.timeout'),
    enqueueTime: toSafeInteger(row.enqueue_time, 'job_result.enqueue_time'),
    runAfterTime: toSafeInteger(row.run_after_time, 'job_result.run_after_time'),
    startTime: toSafeInteger(row.start_time, 'job_result.start_time'),
    endTime: toSafeInteger(row.end_time, 'job_result.end_time'),
    responseType: row.response_type as ResponseType,
    storeSuccess: toBool(row.store_success),
    storeFailure: toBool(row.store_failure),
  };
}

function decodeOutput(bytes: Buffer): Buffer[] {
  try {
    return ResultOutput.decode(bytes).items;
  } catch (cause) {
    throw new InternalError('column job_result.output does not hold a ResultOutput message', { cause });
  }
}

const MISSED_TICK: readonly MissedTickPolicy[] = ['skip', 'run-once'];
const OVERLAP: readonly OverlapPolicy[] = ['allow', 'skip'];
const ORIGIN: readonly ScheduleOrigin[] = ['api', 'file'];

function codeOf<T>(values: readonly T[], value: T): number {
  return values.indexOf(value);
}

function valueOf<T>(values: readonly T[], code: number, column: string): T {
  const value = values[code];
  if (value === undefined) throw new InternalError(`column ${column} holds ${code}, which is not a known value`);
  return value;
}

/** The columns a schedule spec sets (not the id, the tick bookkeeping or the timestamps). */
export function scheduleSpecToRow(
  s: ScheduleSpec,
): Omit<
  Insertable<ScheduleTable>,
  'id' | 'next_tick_time' | 'last_tick_time' | 'last_job_id' | 'created_at' | 'updated_at'
> {
  return {
    name: s.name,
    cron: s.cron,
    time_zone: s.timeZone,
    worker_id: s.workerId ?? null,
    worker_name: s.workerName ?? null,
    args: toBuffer(s.args),
    priority: s.priority,
    uniq_key: s.uniqKey ?? null,
    timeout: s.timeout,
    missed_tick: codeOf(MISSED_TICK, s.missedTick),
    overlap: codeOf(OVERLAP, s.overlap),
    origin: codeOf(ORIGIN, s.origin),
  };
}

/** The firing lease of a schedule row; undefined when none is pending (firing_until 0). */
export function firingLeaseFromRow(row: Selectable<ScheduleTable>): FiringLease | undefined {
  const until = toSafeInteger(row.firing_until, 'schedule.firing_until');
  if (until === 0 || row.firing_job_id === null) return undefined;
  return {
    jobId: toSafeInteger(row.firing_job_id, 'schedule.firing_job_id'),
    tickTime: toSafeInteger(row.firing_tick_time, 'schedule.firing_tick_time'),
    until,
  };
}

export function scheduleFromRow(row: Selectable<ScheduleTable>): Schedule {
  return {
    id: toSafeInteger(row.id, 'schedule.id'),
    name: row.name,
    cron: row.cron,
    timeZone: row.time_zone,
    workerId: row.worker_id === null ? undefined : toSafeInteger(row.worker_id, 'schedule.worker_id'),
    workerName: row.worker_name ?? undefined,
    args: row.args,
    priority: row.priority as Priority,
    uniqKey: row.uniq_key ?? undefined,
    timeout: toSafeInteger(row.timeout, 'schedule.timeout'),
    missedTick: valueOf(MISSED_TICK, row.missed_tick, 'schedule.missed_tick'),
    overlap: valueOf(OVERLAP, row.overlap, 'schedule.overlap'),
    origin: valueOf(ORIGIN, row.origin, 'schedule.origin'),
    nextTickTime: toSafeInteger(row.next_tick_time, 'schedule.next_tick_time'),
    lastTickTime: toSafeInteger(row.last_tick_time, 'schedule.last_tick_time'),
    lastJobId: row.last_job_id === null ? undefined : toSafeInteger(row.last_job_id, 'schedule.last_job_id'),
  };
}
