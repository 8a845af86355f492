/**
 * The storage ports: repositories over the relational database (SQLite in Standalone, MySQL/MariaDB in Scalable).
 * They expose domain types only: no kysely, driver or transaction types leak out.
 * Every method that writes a unique column throws AlreadyExistsError on a clash; a database that cannot be reached
 * surfaces as UnavailableError.
 */
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPolicy,
  DeadLetterQuery,
  Job,
  JobResult,
  Page,
  Runner,
  RunnerSpec,
  Schedule,
  ScheduleOrigin,
  ScheduleSpec,
  Worker,
  WorkerSpec,
} from '../../core/src/index.js';

export interface RunnerRepository {
  /** Inserts or replaces runners with fixed ids (the built-in runners). */
  upsertWithIds(runners: readonly Runner[]): Promise<void>;
  /** Inserts a runner by name, or updates the schemas of the existing one (plugins); returns the stored row. */
  upsertByName(spec: RunnerSpec, newId: () => number): Promise<Runner>;
  find(id: number): Promise<Runner | undefined>;
  findByName(name: string): Promise<Runner | undefined>;
  /** ordered by id */
  list(page?: Page): Promise<Runner[]>;
  count(): Promise<number>;
  delete(id: number): Promise<boolean>;
}

export interface WorkerRepository {
  /** Assigns the id. Throws AlreadyExistsError when the name is taken. */
  create(spec: WorkerSpec): Promise<Worker>;
  /** Returns false when there is no such worker. Throws AlreadyExistsError when the new name is taken. */
  update(id: number, spec: WorkerSpec): Promise<boolean>;
  /** Also deletes the worker's dead-letter options. Returns false when there is no such worker. */
  delete(id: number): Promise<boolean>;
  find(id: number): Promise<Worker | undefined>;
  findByName(name: string): Promise<Worker | undefined>;
  /** ordered by id */
  list(page?: Page): Promise<Worker[]>;
  count(): Promise<number>;
}

export interface DueJobQuery {
  /** jobs with 0 < run_after_time <= dueBefore */
  readonly dueBefore: number;
  /** and grabbed_until_time <= now (not held, or the hold expired) */
  readonly now: number;
  /** only jobs of these workers */
  readonly workerIds: readonly number[];
  readonly limit: number;
}

export interface RestorableJobQuery {
  /** include jobs whose grab has not expired yet */
  readonly includeGrabbed: boolean;
  readonly now: number;
  /** page by id: only ids greater than this */
  readonly afterId?: number | undefined;
  readonly limit: number;
}

export interface JobRepository {
  /** Throws AlreadyExistsError when the id or the uniq_key is taken by a stored job. */
  insert(job: Job): Promise<void>;
  /** Inserts or replaces by id (retries and periodic runs keep the job id). */
  upsert(job: Job): Promise<void>;
  find(id: number): Promise<Job | undefined>;
  findByUniqKey(uniqKey: string): Promise<Job | undefined>;
  /** ordered by id */
  list(page?: Page): Promise<Job[]>;
  count(): Promise<number>;
  /**
   * Jobs waiting in the RDB for a later time (run_after_time after `now`), periodic workers' jobs left out (they are
   * counted by countPeriodic): what a status shows as delayed.
   */
  countDelayed(now: number): Promise<number>;
  /** Jobs of periodic workers (periodic_interval > 0) in the RDB: each is the next run of one periodic series. */
  countPeriodic(): Promise<number>;
  delete(id: number): Promise<boolean>;
  /** Due jobs ordered by run_after_time, then priority (high first), then id. */
  findDue(query: DueJobQuery): Promise<Job[]>;
  /**
   * Optimistic claim: sets grabbed_until_time to `until` only if it still equals `expected` (0 when never grabbed).
   * Returns whether this caller won the claim.
   */
  grab(id: number, expected: number, until: number): Promise<boolean>;
  /** Releases a claim (grabbed_until_time = 0), e.g. on shutdown, so the job can be taken again at once. */
  release(id: number): Promise<void>;
  /**
   * Reschedules a job this caller holds (a retry or the next periodic run): sets run_after_time and retried and
   * releases the claim, only if grabbed_until_time still equals `heldUntil`. Returns false when the job was deleted
   * (cancelled) or another worker has taken it over since.
   */
  rescheduleIfHeld(id: number, heldUntil: number, runAfterTime: number, retried: number): Promise<boolean>;
  /** Jobs with run_after_time = 0 (queued, backed up in the RDB), for restoring a queue; ordered by id. */
  findRestorable(query: RestorableJobQuery): Promise<Job[]>;
}

export interface JobResultRepository {
  /**
   * Throws AlreadyExistsError when the id is taken or when the same attempt of the job (job_id, retried,
   * run_after_time) already has a result: a second delivery of a finished job cannot store a second result.
   */
  insert(result: JobResult): Promise<void>;
  find(id: number): Promise<JobResult | undefined>;
  /** ordered by id */
  list(page?: Page): Promise<JobResult[]>;
  /** every result of the job, oldest first */
  listByJobId(jobId: number): Promise<JobResult[]>;
  /** the newest result of the job (highest end_time, then id) */
  findLatestByJobId(jobId: number): Promise<JobResult | undefined>;
  /** the newest result stored under the uniq_key, of any job (highest end_time, then id) */
  findLatestByUniqKey(uniqKey: string): Promise<JobResult | undefined>;
  count(): Promise<number>;
  delete(id: number): Promise<boolean>;
  /** Deletes results that ended before the given time; returns how many. */
  deleteEndedBefore(time: number): Promise<number>;
}

/** One tick of a schedule, claimed by the process whose update wins (see ScheduleRepository.claimTick). */
export interface TickClaim {
  readonly id: number;
  /** the next_tick_time this process read: the claim wins only if the row still has it */
  readonly expectedNextTickTime: number;
  /** the tick fired or skipped, stored as last_tick_time */
  readonly tickTime: number;
  /** the tick after it (0 when there is none) */
  readonly nextTickTime: number;
  /** the job this tick enqueues, stored as last_job_id; undefined keeps the previous one (a skipped tick) */
  readonly jobId: number | undefined;
  /**
   * With a jobId: the deadline of the firing lease the claim records (the job id and the tick), which the caller
   * clears once the job is enqueued (clearFiring). Undefined: no lease.
   */
  readonly firingUntil?: number;
}

/** A tick claimed and not yet known to be enqueued (see ScheduleRepository.claimTick). */
export interface FiringLease {
  readonly jobId: number;
  readonly tickTime: number;
  /** past it, the process that claimed the tick is taken for dead and any scheduler may take the lease over */
  readonly until: number;
}

/** A schedule as findDue returns it: with its firing lease, if one is pending. */
export interface DueSchedule extends Schedule {
  readonly firing: FiringLease | undefined;
}

export interface ScheduleRepository {
  /** Assigns the id. Throws AlreadyExistsError when the name is taken. */
  create(spec: ScheduleSpec, nextTickTime: number): Promise<Schedule>;
  /**
   * Replaces the spec and the next tick (the expression may have changed); keeps the last tick and job. Returns false
   * when there is no such schedule. Throws AlreadyExistsError when the new name is taken.
   */
  update(id: number, spec: ScheduleSpec, nextTickTime: number): Promise<boolean>;
  delete(id: number): Promise<boolean>;
  find(id: number): Promise<Schedule | undefined>;
  findByName(name: string): Promise<Schedule | undefined>;
  /** ordered by id */
  list(page?: Page): Promise<Schedule[]>;
  /** every schedule of one origin, ordered by id (the cron file has a few hundred lines at most) */
  listByOrigin(origin: ScheduleOrigin): Promise<Schedule[]>;
  count(): Promise<number>;
  /**
   * Schedules with 0 < next_tick_time <= dueBefore, or with a firing lease whose deadline is at or before dueBefore;
   * earliest next tick first.
   */
  findDue(dueBefore: number, limit: number): Promise<DueSchedule[]>;
  /**
   * Claims a tick: moves next_tick_time on only if it still equals `expectedNextTickTime` and no firing lease is
   * pending, in one conditional update, so of all the processes that try, exactly one wins. With a jobId and
   * firingUntil it also records the firing lease. Returns whether this caller won.
   */
  claimTick(claim: TickClaim): Promise<boolean>;
  /**
   * Takes over an expired firing lease: moves its deadline to `until` only if the row still has that lease (job id
   * and deadline), so of the processes that try, exactly one wins. Returns whether this caller won.
   */
  takeOverFiring(id: number, lease: FiringLease, until: number): Promise<boolean>;
  /**
   * Clears a firing lease (its job is enqueued, or never will be) only if the row still has it (job id and deadline):
   * a lease taken over by another process stays its own. Returns whether it was there.
   */
  clearFiring(id: number, lease: FiringLease): Promise<boolean>;
}

export interface DeadLetterRepository {
  /**
   * Throws AlreadyExistsError when the id is taken or when the same attempt of the job (job_id, retried,
   * run_after_time) is already a dead letter: a second delivery of a finished job cannot record it twice.
   */
  insert(letter: DeadLetter): Promise<void>;
  find(id: number): Promise<DeadLetter | undefined>;
  /** newest first (died_at, then id); InvalidArgumentError for a filter that cannot match anything sensible */
  list(query: DeadLetterQuery): Promise<DeadLetter[]>;
  count(filter: DeadLetterFilter): Promise<number>;
  /** Records a requeue as the new job's id, only if the dead letter was not requeued yet; returns whether it was. */
  markRequeued(id: number, jobId: number, at: number): Promise<boolean>;
  /** Undoes markRequeued when enqueueing the new job failed (only if it still names that job). */
  unmarkRequeued(id: number, jobId: number): Promise<void>;
  delete(id: number): Promise<boolean>;
  /** Deletes what the filter matches; returns how many. */
  deleteMatching(filter: DeadLetterFilter): Promise<number>;
  /** Retention: deletes what died before `diedBefore` and all but the newest `keep`; returns how many. */
  prune(diedBefore: number, keep: number): Promise<number>;
  findPolicy(workerId: number): Promise<DeadLetterPolicy | undefined>;
  /** ordered by worker id */
  listPolicies(): Promise<DeadLetterPolicy[]>;
  /** Inserts or replaces the worker's options. */
  savePolicy(policy: DeadLetterPolicy, now: number): Promise<void>;
  deletePolicy(workerId: number): Promise<boolean>;
}

/** Named on/off switches shared by every process of a cluster; a name never set is off. */
export interface SwitchRepository {
  isOn(name: string): Promise<boolean>;
  set(name: string, on: boolean, now: number): Promise<void>;
}

/** Which backend a Storage is. */
export interface StorageCapabilities {
  /** 'sqlite' or 'mysql', for messages and logs only */
  readonly dialect: 'sqlite' | 'mysql';
  /**
   * The largest job args (and worker runner_settings) in bytes that a job row and a result row can hold: the blob
   * column's size and, for MySQL/MariaDB, what fits in one max_allowed_packet (blobs travel hex-encoded, twice their
   * size, next to the row's other columns). Larger values are refused at the API (INVALID_ARGUMENT).
   */
  readonly maxArgsBytes: number;
}

export interface Storage {
  readonly runners: RunnerRepository;
  readonly workers: WorkerRepository;
  readonly jobs: JobRepository;
  readonly results: JobResultRepository;
  readonly schedules: ScheduleRepository;
  readonly deadLetters: DeadLetterRepository;
  readonly switches: SwitchRepository;
  readonly capabilities: StorageCapabilities;
  /** Applies pending migrations under a lock; safe to call from many processes at once. */
  migrate(): Promise<void>;
  /** Checks the connection; throws UnavailableError when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
