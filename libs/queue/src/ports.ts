/**
 * The queue ports. MemoryQueue (Standalone) and RedisQueue (Scalable) implement them; one contract suite runs against
 * both. Nothing here exposes a client type.
 *
 * Delivery: a claimed job is leased to one consumer until `leaseUntil`. The consumer acks it when done, renews the
 * lease while it runs, or returns it (shutdown). A lease that expires makes the job claimable again (at-least-once).
 */
import type { EncodedJobResult, Job, JobResult, JobStatus } from '../../core/src/index.js';

export interface ClaimedJob {
  readonly job: Job;
  readonly channel: string;
  /** epoch ms after which another consumer may take the job */
  readonly leaseUntil: number;
  /** opaque handle for ack/renew/release */
  readonly receipt: string;
}

export interface ClaimOptions {
  /** at most this many jobs (an adapter may cap a single claim lower: RedisQueue takes at most 500) */
  readonly max: number;
  /** wait this long for the first job when none is ready */
  readonly waitMs: number;
  /** lease length */
  readonly leaseMs: number;
  /** aborts the wait; claim then returns what it has (maybe nothing) */
  readonly signal?: AbortSignal | undefined;
}

/** What a job's last step leaves behind; see JobQueue.complete. */
export interface Completion {
  /**
   * true: the job goes on as an RDB row (a retry or the next periodic run was persisted), so its status becomes
   * PENDING and its uniq key stays held; false: the job is final, its status goes and its uniq key is freed.
   */
  readonly continues: boolean;
  /** the job's uniq key, freed when the job is final if this job holds it */
  readonly uniqKey?: string | undefined;
  /** a result to publish on the job's and the worker's result channels */
  readonly result?: CompletedResult | undefined;
}

export interface CompletedResult {
  /** the JobResult, as the bytes published and kept (encoded once, by whoever asks first) */
  readonly encoded: EncodedJobResult;
  /** also keep it for late listeners (ResultBus.getKept, waitForJob) for the result bus's keep time */
  readonly keep: boolean;
}

/** The queue of one channel at one moment, for operators and metrics (see JobQueue.channelStats). */
export interface ChannelStats {
  readonly channel: string;
  /** jobs waiting to be claimed (RedisQueue: may include removed jobs a claim has not passed yet) */
  readonly waiting: number;
  /** jobs claimed and not ended: running, or leased to a consumer that may have died (until the lease is taken back) */
  readonly running: number;
  /**
   * How long the oldest job at the head of a lane has been ready, ms (since the later of its enqueue time and its
   * run_after_time); 0 when nothing waits.
   */
  readonly oldestWaitingMs: number;
  /** claims ended (ack or complete) per second over the last minute, counted in 5-second steps */
  readonly completedPerSecond: number;
}

/** What cancel found: a waiting job (now removed: the caller finishes it CANCELLED), a claimed one, or nothing. */
export type CancelOutcome = { state: 'waiting'; job: Job } | { state: 'claimed' } | { state: 'absent' };

export interface JobQueue {
  /**
   * Adds a job ready to run; HIGH before MEDIUM before LOW, FIFO within a priority. UnavailableError when the channel
   * is full; AlreadyExistsError when a job with the same id is already waiting or claimed (no job runs twice at once),
   * or when another job holds `job.uniqKey`: the uniq key is reserved for the job in the same step (in the state
   * store's uniq keys: free, or already held by this job), and a refused job leaves nothing behind.
   */
  enqueue(job: Job, channel: string): Promise<void>;
  /** Takes up to `max` jobs of the channel, highest priority first, leased to the caller. */
  claim(channel: string, options: ClaimOptions): Promise<ClaimedJob[]>;
  /** The job is done (a final result, or a retry persisted elsewhere): forget it. */
  ack(claim: ClaimedJob): Promise<void>;
  /**
   * The job's last step, one atomic transition: when the receipt is live, forgets the job (like ack), then sets its
   * status PENDING (`continues`) or deletes it and frees `uniqKey` (final), and publishes `result` (keeping it when
   * asked). Returns false, doing nothing, when the receipt is dead (another consumer owns the job now). Concurrent
   * completes (and acks) of a channel go to the backend together.
   */
  complete(claim: ClaimedJob, completion: Completion): Promise<boolean>;
  /**
   * Where a job the queue holds stands: PENDING while it waits, RUNNING while claimed, WAIT_RESULT once claimed and
   * marked by markWaitResult; undefined when the queue does not hold it (see JobStateStore for the others).
   */
  status(jobId: number): Promise<JobStatus | undefined>;
  /** The status of every job the queue holds, ordered by id (an admin call: it reads them all). */
  statuses(): Promise<Array<{ jobId: number; status: JobStatus }>>;
  /** Marks a claimed job WAIT_RESULT until its claim ends; false when the receipt is dead. */
  markWaitResult(claim: ClaimedJob): Promise<boolean>;
  /**
   * Cancels a job the queue holds: a waiting job is removed and returned; a claimed job has its id told to every
   * JobStateStore.onCancel listener (the engine running it aborts it); otherwise absent.
   */
  cancel(jobId: number): Promise<CancelOutcome>;
  /**
   * Extends the lease; returns false when the lease was lost (expired and taken over, or the job was removed). A
   * lease that has ended may count as lost before anyone takes the job over (MemoryQueue), or stay valid until then
   * (RedisQueue); a lost claim's ack and release do nothing.
   */
  renew(claim: ClaimedJob, leaseMs: number): Promise<boolean>;
  /** Gives the job back unfinished, ready to be claimed again at once (graceful shutdown). */
  release(claim: ClaimedJob): Promise<void>;
  /**
   * Removes a job that waits in the queue (not a claimed one); returns whether it was there. RedisQueue removes
   * lazily (see redis-keys.ts): until a claim passes the job's id, the channel's waiting count includes it.
   */
  remove(jobId: number): Promise<boolean>;
  /** A waiting or claimed job by id. */
  find(jobId: number): Promise<Job | undefined>;
  /** Waiting and claimed jobs, ordered by id. */
  list(offset: number, limit: number): Promise<Job[]>;
  count(): Promise<number>;
  /**
   * The state of the given channels (in that order), or of every channel that has jobs waiting or claimed or ended a
   * claim in the last minute (ordered by name). An admin call: RedisQueue reads each channel's keys in one script, and
   * without `channels` first finds the channels by scanning the queue's keys. The completion counts cost the hot path
   * nothing extra: they are kept by the same step (and script call) that ends the claims.
   */
  channelStats(channels?: readonly string[]): Promise<ChannelStats[]>;
  /** Claimed jobs are not handed back: with a shared queue their leases run out; release them first to hand them on. */
  close(): Promise<void>;
}

/**
 * Where a job stands while it is unfinished: PENDING → RUNNING → WAIT_RESULT, and gone once final. Also guards
 * uniq_key for jobs that have no RDB row, and records cancellations so a running job (and a periodic series) stops.
 */
export interface JobStateStore {
  setStatus(jobId: number, status: JobStatus): Promise<void>;
  getStatus(jobId: number): Promise<JobStatus | undefined>;
  deleteStatus(jobId: number): Promise<void>;
  /** every unfinished job, ordered by id */
  listStatuses(): Promise<Array<{ jobId: number; status: JobStatus }>>;
  /** Reserves the key for the job; false when another unfinished job holds it. */
  acquireUniqKey(uniqKey: string, jobId: number): Promise<boolean>;
  /** Frees the key if this job holds it. */
  releaseUniqKey(uniqKey: string, jobId: number): Promise<void>;
  /**
   * Marks the job cancelled (kept for `ttlMs`) and, unless `announce` is false, tells every listener of onCancel (a
   * caller that cancels a claimed job through JobQueue.cancel lets the queue tell them, in its own step).
   */
  cancel(jobId: number, ttlMs: number, options?: { readonly announce: boolean }): Promise<void>;
  isCancelled(jobId: number): Promise<boolean>;
  /** Calls the handler for each cancellation in the cluster; returns an unsubscribe function. */
  onCancel(handler: (jobId: number) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * Where final results go: DIRECT waiters, Listen (LISTEN_AFTER) and ListenStreamByWorker.
 * A result is kept for the configured expiry so listeners that arrive late still get it.
 *
 * Results travel as EncodedJobResult: the JobResult message encoded once by publish, the same bytes on the wire
 * between processes (the result channels carry exactly that message) and in the replies the front sends, decoded
 * only by a consumer that needs fields. An adapter that receives bytes from elsewhere checks them
 * (EncodedJobResult.parse) and drops what is not a JobResult of the job or worker it was sent for.
 */
export interface ResultBus {
  /**
   * Keeps the final result of a job (for late listeners) and tells everyone waiting for it or for its worker. A result
   * that is not kept reaches only the waiters already registered; in another process registering takes a round trip
   * after waitForJob is called, so keep results that a waiter may be about to ask for (DIRECT, LISTEN_AFTER).
   * A JobResult is encoded here, once; an EncodedJobResult is published as it is.
   */
  publish(result: JobResult | EncodedJobResult, options: { keep: boolean }): Promise<void>;
  /** The kept final result of a job, if any. */
  getKept(jobId: number): Promise<EncodedJobResult | undefined>;
  /**
   * Waits for the final result of one job. Registers the waiter before looking at kept results, so a result published
   * at any moment is not missed. Rejects with DeadlineExceededError after timeoutMs, or the signal's reason.
   */
  waitForJob(jobId: number, timeoutMs: number, signal?: AbortSignal): Promise<EncodedJobResult>;
  /** Calls the handler with every result of the worker from now on; returns an unsubscribe function. */
  subscribeWorker(workerId: number, handler: (result: EncodedJobResult) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** What runs a process: the gRPC front and an engine, only the front, or only an engine. */
export type ProcessKind = 'all-in-one' | 'grpc-front' | 'worker';

/** A channel a process runs jobs of, with how many of them it runs at once. */
export interface ServedChannel {
  readonly name: string;
  readonly concurrency: number;
}

/** What a process tells the cluster about itself with each heartbeat. */
export interface ProcessInfo {
  /** unique per process start (a restarted process is a new entry) */
  readonly instanceId: string;
  readonly kind: ProcessKind;
  /** the node id its job ids come from (it may change in Scalable when a lost node id lease is regained) */
  readonly nodeId: number;
  readonly host: string;
  readonly pid: number;
  /** epoch ms */
  readonly startTime: number;
  /** empty for a process that runs no jobs */
  readonly channels: readonly ServedChannel[];
}

export interface LiveProcess extends ProcessInfo {
  /** epoch ms (RedisProcessRegistry: on the Redis clock) */
  readonly lastHeartbeat: number;
}

/**
 * The processes alive in the cluster: each records a heartbeat every HEARTBEAT_INTERVAL_MS (ProcessPresence), and a
 * process whose last heartbeat is older than the registry's timeout is gone from the list (it died, hung or lost the
 * backend), so nothing has to clean up after a killed process. A graceful stop removes its entry at once.
 */
export interface ProcessRegistry {
  /** Records the process as alive now, with what it tells about itself. */
  heartbeat(info: ProcessInfo): Promise<void>;
  /** The live processes, ordered by kind, then start time, then instance id. */
  list(): Promise<LiveProcess[]>;
  /** Forgets a process at once (its graceful stop). */
  remove(instanceId: string): Promise<void>;
  close(): Promise<void>;
}
