import type { Job } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  JobStatus,
  quote,
  startDeadlineTimer,
  UnavailableError,
} from '../../core/src/index.js';
import { Deque } from './deque.js';
import { LeaseHeap } from './lease-heap.js';
import { MemoryJobStateStore } from './memory-job-state-store.js';
import { MemoryResultBus } from './memory-result-bus.js';
import type { CancelOutcome, ChannelStats, ClaimedJob, ClaimOptions, Completion, JobQueue } from './ports.js';
import { firstLiveBucket, perSecond, rateBucket } from './completion-rate.js';
import { checkedTotalCap, queueFullError } from './backlog-cap.js';
import { assertLeaseMs, laneOf } from './priority-lane.js';

export interface MemoryQueueOptions {
  /**
   * The most jobs that may wait in one channel (claimed jobs do not count); enqueue beyond it throws
   * UnavailableError. A positive integer.
   */
  readonly maxPendingPerChannel: number;
  /**
   * The most jobs the whole queue holds (every channel, waiting or claimed); enqueue beyond it throws
   * UnavailableError. A positive integer. @default no cap beyond the per-channel one
   */
  readonly maxPendingTotal?: number | undefined;
  /** The clock for lease ends, epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * Where enqueue reserves uniq keys, complete sets or deletes statuses and frees them, and cancel tells the
   * listeners: the process's JobStateStore. @default a store of the queue's own (closed with it)
   */
  readonly state?: MemoryJobStateStore | undefined;
  /**
   * Where complete publishes results: the process's ResultBus. @default a bus of the queue's own, made by the first
   * complete with a result (it runs a sweep timer) and closed with the queue
   */
  readonly results?: MemoryResultBus | undefined;
  /** Told how many jobs of a channel went back to waiting because their lease ran out. Must not throw. */
  readonly onLeasesLapsed?: ((channel: string, count: number) => void) | undefined;
}

/** A claimed job with its current lease end; `heapIndex` belongs to the channel's LeaseHeap. */
interface Lease {
  readonly claim: ClaimedJob;
  readonly channel: Channel;
  leaseUntil: number;
  heapIndex: number;
  /** marked WAIT_RESULT */
  waitResult: boolean;
}

/** A claim() call blocked on an empty channel. */
interface Claimer {
  /** Hands the claimer the jobs now waiting (at least one) and ends its wait. */
  offer(): void;
  /** Ends the wait with nothing. */
  abandon(): void;
}

interface Channel {
  readonly name: string;
  /** waiting jobs, one FIFO lane per priority: HIGH, MEDIUM, LOW */
  readonly lanes: readonly [Deque<Job>, Deque<Job>, Deque<Job>];
  /** the jobs in all lanes */
  waiting: number;
  readonly leases: LeaseHeap<Lease>;
  /** blocked claim() calls, oldest first */
  readonly claimers: Set<Claimer>;
  /** the lease end the expiry timer is set for; Infinity when no timer runs */
  expiryDue: number;
  cancelExpiryTimer: () => void;
}

/**
 * The Standalone JobQueue. Per channel: three FIFO lanes of waiting jobs (HIGH, MEDIUM, LOW), the leased jobs in a
 * heap ordered by lease end, and the claim() calls blocked on the channel.
 *
 * A job's states:
 *
 *     enqueue ─▶ waiting ──claim──▶ leased ──ack / complete──▶ (gone)
 *                 │  ▲                │
 *  remove/cancel ◀┘  └────────────────┘ release, or the lease ends: back to the front of its lane;
 *        (gone)                         the old receipt is dead (renew → false, ack/release → no-op)
 *
 * A job's status is where it is (PENDING waiting, RUNNING leased, WAIT_RESULT leased and marked). enqueue reserves
 * its uniq key and complete frees it (or sets the status PENDING of a job that goes on as an RDB row) in the state
 * store, synchronously within the same call, as RedisQueue does within one script.
 *
 * Whatever makes a job waiting (enqueue, release, a lease end) hands it at once to the oldest blocked claimer, so a
 * blocked claim() never polls; it returns [] when its wait runs out, its signal aborts or the queue closes. Lease ends
 * are noticed lazily by every operation on the channel and, while claimers are blocked, by a timer set for the
 * earliest lease end. A channel with nothing waiting, leased or blocked is forgotten.
 *
 * Costs: enqueue is O(1); claim, ack, renew and release are O(log leased) per job; remove is O(jobs in the lane);
 * list sorts every job.
 */
export class MemoryQueue implements JobQueue {
  private readonly maxPending: number;
  private readonly maxTotal: number;
  private readonly now: () => number;
  private readonly channels = new Map<string, Channel>();
  private readonly waitingJobs = new Map<number, { readonly job: Job; readonly channel: Channel }>();
  private readonly leasedJobs = new Map<number, Lease>();
  /** jobs cancelled while claimed, until they leave the queue */
  private readonly state: MemoryJobStateStore;
  private results: MemoryResultBus | undefined;
  /** the adapters the queue made itself, closed with it */
  private readonly owned: Array<{ close(): Promise<void> }> = [];
  /** per channel: ended claims per 5-second bucket of the last minute (kept apart: idle channels are forgotten) */
  private readonly completions = new Map<string, Map<number, number>>();
  private receiptSeq = 0;
  private closed = false;

  private readonly onLeasesLapsed: ((channel: string, count: number) => void) | undefined;

  constructor(options: MemoryQueueOptions) {
    if (!Number.isSafeInteger(options.maxPendingPerChannel) || options.maxPendingPerChannel < 1) {
      throw new InvalidArgumentError(
        `maxPendingPerChannel must be a positive integer, got ${options.maxPendingPerChannel}`,
      );
    }
    this.maxPending = options.maxPendingPerChannel;
    this.maxTotal = checkedTotalCap(options.maxPendingTotal);
    this.now = options.now ?? Date.now;
    if (options.state === undefined) this.owned.push((this.state = new MemoryJobStateStore()));
    else this.state = options.state;
    this.results = options.results;
    this.onLeasesLapsed = options.onLeasesLapsed;
  }

  async enqueue(job: Job, channel: string): Promise<void> {
    this.assertOpen();
    if (this.waitingJobs.has(job.id) || this.leasedJobs.has(job.id)) {
      throw new AlreadyExistsError(`job ${job.id} is already in the queue`);
    }
    const ch = this.channelNamed(channel);
    if (ch.waiting >= this.maxPending) {
      throw new UnavailableError(
        `channel "${channel}" is full: ${this.maxPending} jobs are waiting; retry later, ` +
          'raise JOB_QUEUE_MAX_PENDING or add workers for this channel',
      );
    }
    if (this.waitingJobs.size + this.leasedJobs.size >= this.maxTotal) throw queueFullError(this.maxTotal);
    if (job.uniqKey !== undefined && !this.state.acquireUniqKeyNow(job.uniqKey, job.id)) {
      throw new AlreadyExistsError(`a job with uniq_key ${quote(job.uniqKey)} is not finished yet`);
    }
    ch.lanes[laneOf(job.priority)].pushBack(job);
    ch.waiting += 1;
    this.waitingJobs.set(job.id, { job, channel: ch });
    this.handOff(ch);
  }

  async claim(channel: string, options: ClaimOptions): Promise<ClaimedJob[]> {
    this.assertOpen();
    const { max, waitMs, leaseMs, signal } = options;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidArgumentError(`max must be a positive integer, got ${max}`);
    if (!(waitMs >= 0)) throw new InvalidArgumentError(`waitMs must be >= 0, got ${waitMs}`);
    assertLeaseMs(leaseMs);

    const ch = this.channelNamed(channel);
    this.reclaimLapsed(ch);
    const ready = this.take(ch, max, leaseMs);
    if (ready.length > 0 || waitMs === 0 || signal?.aborted === true) {
      this.forgetIfIdle(ch);
      return ready;
    }
    return new Promise<ClaimedJob[]>((resolve) => {
      const finish = (jobs: ClaimedJob[]): void => {
        cancelTimer();
        signal?.removeEventListener('abort', abandon);
        ch.claimers.delete(claimer);
        resolve(jobs);
        this.armExpiryTimer(ch);
        this.forgetIfIdle(ch);
      };
      const abandon = (): void => finish([]);
      const claimer: Claimer = { offer: () => finish(this.take(ch, max, leaseMs)), abandon };
      const cancelTimer = startDeadlineTimer(waitMs, abandon);
      signal?.addEventListener('abort', abandon, { once: true });
      ch.claimers.add(claimer);
      this.armExpiryTimer(ch);
    });
  }

  async ack(claim: ClaimedJob): Promise<void> {
    this.assertOpen();
    const lease = this.liveLease(claim);
    if (lease === undefined) return;
    this.forget(lease);
  }

  /** The result is published after the rest, still within this synchronous step (MemoryResultBus.publish is). */
  async complete(claim: ClaimedJob, completion: Completion): Promise<boolean> {
    this.assertOpen();
    const lease = this.liveLease(claim);
    if (lease === undefined) return false;
    this.forget(lease);
    const jobId = claim.job.id;
    if (completion.continues) {
      this.state.setStatusNow(jobId, JobStatus.PENDING);
    } else {
      this.state.deleteStatusNow(jobId);
      if (completion.uniqKey !== undefined) this.state.releaseUniqKeyNow(completion.uniqKey, jobId);
    }
    const { result } = completion;
    if (result !== undefined) {
      await this.resultBus().publish(result.encoded, { keep: result.keep });
    }
    return true;
  }

  async status(jobId: number): Promise<JobStatus | undefined> {
    this.assertOpen();
    return this.statusOf(jobId);
  }

  async statuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    this.assertOpen();
    return [...this.waitingJobs.keys(), ...this.leasedJobs.keys()]
      .sort((a, b) => a - b)
      .map((jobId) => ({ jobId, status: this.statusOf(jobId) as JobStatus }));
  }

  async markWaitResult(claim: ClaimedJob): Promise<boolean> {
    this.assertOpen();
    const lease = this.liveLease(claim);
    if (lease === undefined) return false;
    lease.waitResult = true;
    return true;
  }

  async cancel(jobId: number): Promise<CancelOutcome> {
    this.assertOpen();
    const waiting = this.waitingJobs.get(jobId);
    if (waiting !== undefined) {
      this.removeWaiting(jobId);
      return { state: 'waiting', job: waiting.job };
    }
    if (!this.leasedJobs.has(jobId)) return { state: 'absent' };
    this.state.announceCancelNow(jobId);
    return { state: 'claimed' };
  }

  async renew(claim: ClaimedJob, leaseMs: number): Promise<boolean> {
    this.assertOpen();
    assertLeaseMs(leaseMs);
    const lease = this.liveLease(claim);
    if (lease === undefined) return false;
    lease.leaseUntil = this.now() + leaseMs;
    lease.channel.leases.update(lease);
    this.armExpiryTimer(lease.channel);
    return true;
  }

  async release(claim: ClaimedJob): Promise<void> {
    this.assertOpen();
    const lease = this.liveLease(claim);
    if (lease === undefined) return;
    this.endLease(lease);
    this.putBack(lease.channel, [claim.job]);
    this.handOff(lease.channel);
  }

  async remove(jobId: number): Promise<boolean> {
    this.assertOpen();
    return this.removeWaiting(jobId);
  }

  async find(jobId: number): Promise<Job | undefined> {
    this.assertOpen();
    return this.jobById(jobId);
  }

  async list(offset: number, limit: number): Promise<Job[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new InvalidArgumentError(`offset must be >= 0, got ${offset}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`limit must be >= 0, got ${limit}`);
    const ids = [...this.waitingJobs.keys(), ...this.leasedJobs.keys()].sort((a, b) => a - b);
    return ids.slice(offset, offset + limit).map((id) => this.jobById(id) as Job);
  }

  async count(): Promise<number> {
    this.assertOpen();
    return this.waitingJobs.size + this.leasedJobs.size;
  }

  /** Wakes every blocked claim() (they return []) and drops all jobs; later calls throw UnavailableError. */
  async channelStats(channels?: readonly string[]): Promise<ChannelStats[]> {
    this.assertOpen();
    const now = this.now();
    const nowBucket = rateBucket(now);
    let names = channels;
    if (names === undefined) {
      const first = firstLiveBucket(nowBucket);
      const recent = [...this.completions].filter(([, buckets]) => [...buckets.keys()].some((b) => b >= first));
      names = [...new Set([...this.channels.keys(), ...recent.map(([name]) => name)])].sort();
    }
    return names.map((channel) => {
      const ch = this.channels.get(channel);
      let oldest = Infinity;
      for (const lane of ch?.lanes ?? []) {
        const head = lane.first();
        if (head !== undefined) oldest = Math.min(oldest, Math.max(head.enqueueTime, head.runAfterTime));
      }
      return {
        channel,
        waiting: ch?.waiting ?? 0,
        running: ch?.leases.size ?? 0,
        oldestWaitingMs: oldest === Infinity ? 0 : Math.max(0, now - oldest),
        completedPerSecond: perSecond(this.completions.get(channel) ?? [], nowBucket),
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const claimers = [...this.channels.values()].flatMap((ch) => [...ch.claimers]);
    for (const claimer of claimers) claimer.abandon();
    for (const ch of this.channels.values()) ch.cancelExpiryTimer();
    this.channels.clear();
    this.waitingJobs.clear();
    this.leasedJobs.clear();
    await Promise.all(this.owned.map((adapter) => adapter.close()));
  }

  /** Sizes for metrics and leak checks: channels held, waiting and leased jobs, blocked claim() calls. */
  stats(): { channels: number; waiting: number; leased: number; claimers: number } {
    let claimers = 0;
    for (const ch of this.channels.values()) claimers += ch.claimers.size;
    return {
      channels: this.channels.size,
      waiting: this.waitingJobs.size,
      leased: this.leasedJobs.size,
      claimers,
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the job queue is closed');
  }

  private channelNamed(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch === undefined) {
      ch = {
        name,
        lanes: [new Deque<Job>(), new Deque<Job>(), new Deque<Job>()],
        waiting: 0,
        leases: new LeaseHeap<Lease>(),
        claimers: new Set(),
        expiryDue: Infinity,
        cancelExpiryTimer: () => {},
      };
      this.channels.set(name, ch);
    }
    return ch;
  }

  private forgetIfIdle(ch: Channel): void {
    if (ch.waiting === 0 && ch.leases.size === 0 && ch.claimers.size === 0 && this.channels.get(ch.name) === ch) {
      ch.cancelExpiryTimer();
      this.channels.delete(ch.name);
    }
  }

  private resultBus(): MemoryResultBus {
    if (this.results === undefined) this.owned.push((this.results = new MemoryResultBus({ keepMs: 86_400_000 })));
    return this.results;
  }

  private statusOf(jobId: number): JobStatus | undefined {
    if (this.waitingJobs.has(jobId)) return JobStatus.PENDING;
    const lease = this.leasedJobs.get(jobId);
    if (lease === undefined) return undefined;
    return lease.waitResult ? JobStatus.WAIT_RESULT : JobStatus.RUNNING;
  }

  private removeWaiting(jobId: number): boolean {
    const entry = this.waitingJobs.get(jobId);
    if (entry === undefined) return false;
    const { job, channel } = entry;
    channel.lanes[laneOf(job.priority)].removeFirst((waiting) => waiting === job);
    channel.waiting -= 1;
    this.waitingJobs.delete(jobId);
    this.forgetIfIdle(channel);
    return true;
  }

  /** A claimed job leaves the queue (ack, complete). */
  private forget(lease: Lease): void {
    this.countCompletion(lease.channel.name);
    this.endLease(lease);
    this.forgetIfIdle(lease.channel);
  }

  private countCompletion(channel: string): void {
    const bucket = rateBucket(this.now());
    let buckets = this.completions.get(channel);
    if (buckets === undefined) this.completions.set(channel, (buckets = new Map<number, number>()));
    const count = buckets.get(bucket);
    if (count !== undefined) {
      buckets.set(bucket, count + 1);
      return;
    }
    // a new bucket: drop those that left the window (as the Redis script does)
    const first = firstLiveBucket(bucket);
    for (const old of buckets.keys()) if (old < first) buckets.delete(old);
    buckets.set(bucket, 1);
  }

  private jobById(jobId: number): Job | undefined {
    return this.waitingJobs.get(jobId)?.job ?? this.leasedJobs.get(jobId)?.claim.job;
  }

  /** Leases up to `max` waiting jobs, highest priority first. */
  private take(ch: Channel, max: number, leaseMs: number): ClaimedJob[] {
    const claimed: ClaimedJob[] = [];
    if (ch.waiting === 0) return claimed;
    const leaseUntil = this.now() + leaseMs;
    for (const lane of ch.lanes) {
      while (claimed.length < max) {
        const job = lane.shift();
        if (job === undefined) break;
        ch.waiting -= 1;
        this.waitingJobs.delete(job.id);
        this.receiptSeq += 1;
        const claim: ClaimedJob = { job, channel: ch.name, leaseUntil, receipt: `${job.id}:${this.receiptSeq}` };
        const lease: Lease = { claim, channel: ch, leaseUntil, heapIndex: -1, waitResult: false };
        ch.leases.push(lease);
        this.leasedJobs.set(job.id, lease);
        claimed.push(claim);
      }
    }
    return claimed;
  }

  /** Puts jobs back at the front of their lanes, keeping their order. */
  private putBack(ch: Channel, jobs: readonly Job[]): void {
    for (let i = jobs.length - 1; i >= 0; i -= 1) {
      const job = jobs[i] as Job;
      ch.lanes[laneOf(job.priority)].pushFront(job);
      ch.waiting += 1;
      this.waitingJobs.set(job.id, { job, channel: ch });
    }
  }

  /** Gives waiting jobs to blocked claimers, oldest claimer first. */
  private handOff(ch: Channel): void {
    for (const claimer of ch.claimers) {
      if (ch.waiting === 0) return;
      claimer.offer();
    }
  }

  /** The lease the claim still holds, after returning lapsed leases of its channel to the queue. */
  private liveLease(claim: ClaimedJob): Lease | undefined {
    const lease = this.leasedJobs.get(claim.job.id);
    if (lease === undefined || lease.claim.receipt !== claim.receipt) return undefined;
    this.reclaimLapsed(lease.channel);
    return this.leasedJobs.get(claim.job.id) === lease ? lease : undefined;
  }

  private endLease(lease: Lease): void {
    lease.channel.leases.remove(lease);
    this.leasedJobs.delete(lease.claim.job.id);
  }

  /** Returns the jobs whose lease has ended to the front of their lanes, earliest lease first. */
  private reclaimLapsed(ch: Channel): void {
    const now = this.now();
    const lapsed: Job[] = [];
    for (let lease = ch.leases.peek(); lease !== undefined && lease.leaseUntil <= now; lease = ch.leases.peek()) {
      this.endLease(lease);
      lapsed.push(lease.claim.job);
    }
    if (lapsed.length === 0) return;
    this.onLeasesLapsed?.(ch.name, lapsed.length);
    this.putBack(ch, lapsed);
    this.handOff(ch);
  }

  /** Keeps a timer at the earliest lease end while claimers are blocked on the channel, and none otherwise. */
  private armExpiryTimer(ch: Channel): void {
    const due = ch.claimers.size > 0 ? (ch.leases.peek()?.leaseUntil ?? Infinity) : Infinity;
    if (due === ch.expiryDue) return;
    ch.cancelExpiryTimer();
    ch.expiryDue = due;
    ch.cancelExpiryTimer = startDeadlineTimer(Math.max(0, due - this.now()), () => {
      ch.expiryDue = Infinity;
      this.reclaimLapsed(ch);
      this.armExpiryTimer(ch);
    });
  }
}
