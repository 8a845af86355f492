/**
 * The tables as kysely sees them (see migrations/). Select types are what the drivers may return: BIGINT columns
 * come back as numbers, but mysql2 returns a string for a BIGINT beyond 2^53, so those are typed `number | string`
 * and decoded by row-mapping.ts; booleans are stored as 0/1 in both backends.
 */
import type { ColumnType, Generated } from 'kysely';

/** BIGINT: written as a number, read as a number (or a string when mysql2 cannot represent it exactly). */
type BigIntColumn = ColumnType<number | string, number, number>;
/** BIGINT NULL */
type NullableBigIntColumn = ColumnType<number | string | null, number | null, number | null>;
/** BLOB: written as a Buffer, read as a Buffer. */
type BlobColumn = ColumnType<Buffer, Buffer, Buffer>;
/** BOOL: written and read as 0 or 1. */
type BoolColumn = ColumnType<number, 0 | 1, 0 | 1>;

export interface RunnerTable {
  id: BigIntColumn;
  name: string;
  type: number;
  settings_proto: string;
  args_proto: string;
  result_proto: string | null;
}

export interface WorkerTable {
  id: Generated<number | string>;
  name: string;
  runner_id: BigIntColumn;
  runner_settings: BlobColumn;
  retry_type: number;
  retry_interval: BigIntColumn;
  retry_max_interval: BigIntColumn;
  retry_max_retry: number;
  retry_basis: number;
  periodic_interval: BigIntColumn;
  channel: string | null;
  queue_type: number;
  response_type: number;
  store_success: BoolColumn;
  store_failure: BoolColumn;
  /** comma-separated worker ids, '' when none */
  next_workers: string;
  use_static: BoolColumn;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

export interface JobTable {
  id: BigIntColumn;
  worker_id: BigIntColumn;
  args: BlobColumn;
  uniq_key: string | null;
  enqueue_time: BigIntColumn;
  /** 0 = not grabbed */
  grabbed_until_time: BigIntColumn;
  /** 0 = run as soon as possible (queued) */
  run_after_time: BigIntColumn;
  retried: number;
  priority: number;
  timeout: BigIntColumn;
  /** the job's W3C trace context (Job.trace); null without one */
  traceparent: string | null;
  tracestate: string | null;
}

export interface JobResultTable {
  id: BigIntColumn;
  job_id: BigIntColumn;
  worker_id: BigIntColumn;
  worker_name: string;
  args: BlobColumn;
  uniq_key: string | null;
  status: number;
  /** protobuf bytes of jobworkerp.data.ResultOutput */
  output: BlobColumn;
  retried: number;
  max_retry: number;
  priority: number;
  timeout: BigIntColumn;
  enqueue_time: BigIntColumn;
  run_after_time: BigIntColumn;
  start_time: BigIntColumn;
  end_time: BigIntColumn;
  response_type: number;
  store_success: BoolColumn;
  store_failure: BoolColumn;
}

export interface ScheduleTable {
  id: Generated<number | string>;
  name: string;
  cron: string;
  time_zone: string;
  worker_id: NullableBigIntColumn;
  worker_name: string | null;
  args: BlobColumn;
  priority: number;
  uniq_key: string | null;
  timeout: BigIntColumn;
  /** 0 = skip, 1 = run once */
  missed_tick: number;
  /** 0 = allow, 1 = skip */
  overlap: number;
  /** 0 = the API, 1 = the cron file */
  origin: number;
  /** 0 = no later tick */
  next_tick_time: BigIntColumn;
  last_tick_time: BigIntColumn;
  last_job_id: NullableBigIntColumn;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
  /** the firing lease (migrations 005): the job of a claimed tick not yet known to be enqueued */
  firing_job_id: ColumnType<number | string | null, number | null | undefined, number | null>;
  firing_tick_time: ColumnType<number | string, number | undefined, number>;
  /** 0 = no lease */
  firing_until: ColumnType<number | string, number | undefined, number>;
}

/** Jobs kept after a final failure (migrations 004), with their last result. */
export interface DeadLetterTable {
  id: BigIntColumn;
  job_id: BigIntColumn;
  worker_id: BigIntColumn;
  worker_name: string;
  args: BlobColumn;
  uniq_key: string | null;
  priority: number;
  timeout: BigIntColumn;
  enqueue_time: BigIntColumn;
  run_after_time: BigIntColumn;
  retried: number;
  max_retry: number;
  status: number;
  /** protobuf bytes of jobworkerp.data.ResultOutput */
  output: BlobColumn;
  start_time: BigIntColumn;
  end_time: BigIntColumn;
  died_at: BigIntColumn;
  /** 0 = not requeued */
  requeued_job_id: ColumnType<number | string, number | undefined, number>;
  /** 0 = not requeued */
  requeued_at: ColumnType<number | string, number | undefined, number>;
}

/** Per-worker dead-letter options (migrations 004). */
export interface DeadLetterPolicyTable {
  worker_id: BigIntColumn;
  enabled: BoolColumn;
  /** comma list of ResultStatus numbers, '' when none */
  extra_statuses: string;
  updated_at: BigIntColumn;
}

/** Named on/off switches shared by a cluster (migrations 009). */
export interface SwitchTable {
  name: string;
  is_on: BoolColumn;
  updated_at: BigIntColumn;
}

/** Bookkeeping of the migration runner: one row per applied migrations/<dialect>/NNN_name.sql file. */
export interface MigrationTable {
  version: number;
  name: string;
  applied_at: BigIntColumn;
}

export interface Database {
  runner: RunnerTable;
  worker: WorkerTable;
  job: JobTable;
  job_result: JobResultTable;
  schedule: ScheduleTable;
  dead_letter: DeadLetterTable;
  dead_letter_policy: DeadLetterPolicyTable;
  switch: SwitchTable;
  jobworkerp_migrations: MigrationTable;
}
