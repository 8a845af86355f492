import type { Job } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  InternalError,
  InvalidArgumentError,
  JobStatus,
  quote,
  startDeadlineTimer,
  UnavailableError,
} from '../../core/src/index.js';
import type { Redis } from 'ioredis';
import { Cluster } from 'ioredis';
import type { CancelOutcome, ChannelStats, ClaimedJob, ClaimOptions, Completion, JobQueue } from './ports.js';
import { perSecond, RATE_BUCKET_MS, RATE_BUCKETS, rateBucket } from './completion-rate.js';
import { RedisBatcher } from './redis-batcher.js';
import { RedisBlockerPool } from './redis-blocker-pool.js';
import { asBuffer, RECORD_HEADER_END, redisCodec } from './redis-codec.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { redisReply } from './redis-reply.js';
import {
  cancelScript,
  channelStatsScript,
  claimScript,
  completeScript,
  enqueueScript,
  markWaitResultScript,
  passWakeScript,
  releaseScript,
  removeScript,
  renewScript,
  statusesScript,
  statusScript,
} from './redis-queue-scripts.js';
import { assertLeaseMs, laneOf } from './priority-lane.js';
import { checkedTotalCap, queueFullError } from './backlog-cap.js';

export interface RedisQueueOptions {
  readonly redis: RedisConnectionOptions;
  /** The namespace of every key (REDIS_KEY_PREFIX); no braces or glob characters. */
  readonly keyPrefix: string;
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
  /**
   * The longest single blocking read of a waiting claim, ms. It bounds how late a waiting claimer notices a lease
   * that was taken and lapsed while it waited, and how long a lost wake-up can delay it; each waiting claimer reads
   * (and then claims) about once per period while the channel is idle. @default 1000
   */
  readonly maxBlockMs?: number | undefined;
  /**
   * How long a result complete() keeps stays available to late listeners, ms (JOB_QUEUE_EXPIRE_JOB_RESULT_SECONDS;
   * the same as the RedisResultBus's keepMs). @default one day
   */
  readonly keepResultMs?: number | undefined;
  /**
   * Told how many jobs of a channel a claim took back from leases that had run out (each is delivered again): the
   * count comes with the claim's own reply, so it costs nothing. Must not throw.
   */
  readonly onLeasesLapsed?: ((channel: string, count: number) => void) | undefined;
}

/** A job on its way into the queue. */
interface Entry {
  readonly id: string;
  readonly lane: number;
  readonly uniqKey: string;
  readonly payload: Buffer;
}

/** A claim on its way out of the queue; no completion: an ack. */
interface Ending {
  readonly claim: ClaimedJob;
  readonly completion: Completion | undefined;
}

/** The most jobs one claim or enqueue script handles, so a script never holds Redis for long. */
const MAX_BATCH = 500;
/** Enqueue and ack batches of one channel on their way at once: enough to keep the connection busy. */
const BATCHES_IN_FLIGHT = 2;

const ENQUEUED = 1;
const DUPLICATE = 0;
const QUEUE_FULL = -2;
const UNIQ_KEY_HELD = -3;

/** What the status script answers, by code. */
const STATUS_BY_CODE = [undefined, JobStatus.PENDING, JobStatus.RUNNING, JobStatus.WAIT_RESULT] as const;

/**
 * The Scalable JobQueue on Redis (a single Redis or a Cluster); the key layout is in redis-keys.ts. Many processes
 * share one queue; everything a job's fate depends on lives in Redis, so any process may die at any moment.
 *
 * A job's states (each arrow is one atomic Lua script):
 *
 *     enqueue ─▶ waiting ──claim──▶ leased ──ack / complete──▶ (gone)
 *                 │  ▲                │
 *  remove/cancel ◀┘  └────────────────┘ release; or, once the lease end has passed, the next claim on the
 *        (gone)                         channel puts it back at the front of its lane: the old receipt is dead
 *
 * Its status is where it is (PENDING waiting, RUNNING leased, WAIT_RESULT leased and marked): nothing is written for
 * it. enqueue reserves its uniq key and complete frees it (or records that the job goes on as an RDB row), in the same
 * script as the job's own step, so no crash between two calls can leave a status or a uniq key behind.
 *
 * Delivery is at least once: a consumer that dies holding a job loses nothing, the job is claimed again once its
 * lease ends, with `retried` unchanged. A lease that has run out stays valid until a claim on its channel takes it
 * back, so a late ack or renew still succeeds if nobody took over.
 *
 * Waiting: enqueue and release push a token onto the channel's wake list when it has none; a claim that leaves jobs
 * waiting keeps a token there, one that empties the channel removes it. A claim with nothing to take blocks in BLPOP
 * on that list (on its own connection) for at most maxBlockMs at a time, and also wakes when the earliest lease of
 * the channel ends; so it never polls a busy queue, and a lost token costs at most maxBlockMs.
 *
 * Throughput: concurrent enqueues, and concurrent acks and completes, of a channel are coalesced into one script call
 * per round trip; a claim takes up to `max` jobs in one call.
 */
export class RedisQueue implements JobQueue {
  private readonly connection: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly maxPending: number;
  private readonly maxTotal: number;
  private readonly maxBlockMs: number;
  private readonly blockers: RedisBlockerPool;
  private readonly enqueues: RedisBatcher<Entry, number>;
  private readonly endings: RedisBatcher<Ending, boolean>;
  private readonly keepResultMs: number;
  /** stops every waiting claim; close() calls them */
  private readonly waits = new Set<() => void>();
  private closing: Promise<void> | undefined;
  private readonly onLeasesLapsed: ((channel: string, count: number) => void) | undefined;

  constructor(options: RedisQueueOptions) {
    if (!Number.isSafeInteger(options.maxPendingPerChannel) || options.maxPendingPerChannel < 1) {
      throw new InvalidArgumentError(
        `maxPendingPerChannel must be a positive integer, got ${options.maxPendingPerChannel}`,
      );
    }
    this.keys = new RedisKeys(options.keyPrefix);
    const maxBlockMs = options.maxBlockMs ?? 1_000;
    if (!(maxBlockMs >= 1)) throw new InvalidArgumentError(`maxBlockMs must be >= 1, got ${maxBlockMs}`);
    this.maxPending = options.maxPendingPerChannel;
    this.maxTotal = checkedTotalCap(options.maxPendingTotal);
    this.maxBlockMs = maxBlockMs;
    const keepResultMs = options.keepResultMs ?? 86_400_000;
    if (!(keepResultMs > 0)) throw new InvalidArgumentError(`keepResultMs must be > 0, got ${keepResultMs}`);
    this.keepResultMs = Math.ceil(keepResultMs);
    this.onLeasesLapsed = options.onLeasesLapsed;
    this.connection = new RedisConnection(options.redis, true, [
      enqueueScript,
      claimScript,
      completeScript,
      renewScript,
      releaseScript,
      removeScript,
      cancelScript,
      statusScript,
      statusesScript,
      markWaitResultScript,
      passWakeScript,
      channelStatsScript,
    ]);
    this.blockers = new RedisBlockerPool(this.connection);
    this.enqueues = new RedisBatcher(
      (channel, entries) => this.sendEnqueues(channel, entries),
      MAX_BATCH,
      BATCHES_IN_FLIGHT,
    );
    this.endings = new RedisBatcher(
      (channel, endings) => this.sendEndings(channel, endings),
      MAX_BATCH,
      BATCHES_IN_FLIGHT,
    );
  }

  async enqueue(job: Job, channel: string): Promise<void> {
    this.assertOpen();
    assertChannel(channel);
    const code = await this.enqueues.add(channel, {
      id: String(job.id),
      lane: laneOf(job.priority),
      uniqKey: job.uniqKey ?? '',
      payload: redisCodec.encodeJob(job),
    });
    if (code === DUPLICATE) throw new AlreadyExistsError(`job ${job.id} is already in the queue`);
    if (code === UNIQ_KEY_HELD) {
      throw new AlreadyExistsError(`a job with uniq_key ${quote(job.uniqKey ?? '')} is not finished yet`);
    }
    if (code === QUEUE_FULL) throw queueFullError(this.maxTotal);
    if (code !== ENQUEUED) {
      throw new UnavailableError(
        `channel "${channel}" is full: ${this.maxPending} jobs are waiting; retry later, ` +
          'raise JOB_QUEUE_MAX_PENDING or add workers for this channel',
      );
    }
  }

  async claim(channel: string, options: ClaimOptions): Promise<ClaimedJob[]> {
    const started = performance.now();
    this.assertOpen();
    const { max, waitMs, leaseMs, signal } = options;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidArgumentError(`max must be a positive integer, got ${max}`);
    if (!(waitMs >= 0)) throw new InvalidArgumentError(`waitMs must be >= 0, got ${waitMs}`);
    assertLeaseMs(leaseMs);
    const take = Math.min(max, MAX_BATCH);
    const first = await this.claimNow(channel, take, leaseMs);
    if (first.jobs.length > 0 || waitMs === 0 || signal?.aborted === true) return first.jobs;
    return this.waitToClaim(channel, take, leaseMs, started + waitMs, first.msUntilLeaseEnd, signal);
  }

  async ack(claim: ClaimedJob): Promise<void> {
    this.assertOpen();
    await this.endings.add(claim.channel, { claim, completion: undefined });
  }

  async complete(claim: ClaimedJob, completion: Completion): Promise<boolean> {
    this.assertOpen();
    return this.endings.add(claim.channel, { claim, completion });
  }

  async status(jobId: number): Promise<JobStatus | undefined> {
    this.assertOpen();
    const keys = [this.keys.jobs, this.keys.receipts, this.keys.waitResult];
    const code = redisReply.number(
      await this.connection.run((client) => statusScript.run(client, keys, [String(jobId)])),
    );
    return STATUS_BY_CODE[code];
  }

  /** Reads every id the queue holds in one script call, then sorts them here. */
  async statuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    this.assertOpen();
    const keys = [this.keys.jobs, this.keys.receipts, this.keys.waitResult];
    const [all = [], claimed = [], marked = []] = redisReply
      .array(await this.connection.run((client) => statusesScript.run(client, keys, [])))
      .map((ids) => redisReply.array(ids).map((id) => redisReply.bytes(id).toString()));
    const running = new Set(claimed);
    const waitingForResult = new Set(marked);
    return all
      .map((id) => {
        let status: JobStatus = JobStatus.PENDING;
        if (waitingForResult.has(id)) status = JobStatus.WAIT_RESULT;
        else if (running.has(id)) status = JobStatus.RUNNING;
        return { jobId: Number(id), status };
      })
      .sort((a, b) => a.jobId - b.jobId);
  }

  async markWaitResult(claim: ClaimedJob): Promise<boolean> {
    this.assertOpen();
    const keys = [this.keys.receipts, this.keys.waitResult];
    const marked = await this.connection.run((client) =>
      markWaitResultScript.run(client, keys, [String(claim.job.id), claim.receipt]),
    );
    return redisReply.number(marked) === 1;
  }

  /** A claimed job's id is published on the cancel channel by the script itself (see queue-cancel-3.lua). */
  async cancel(jobId: number): Promise<CancelOutcome> {
    this.assertOpen();
    const keys = [this.keys.jobs, this.keys.receipts];
    const reply = redisReply.array(
      await this.connection.run((client) => cancelScript.run(client, keys, [String(jobId), this.keys.cancelChannel])),
    );
    const code = redisReply.number(reply[0]);
    if (code === 1) return { state: 'waiting', job: redisCodec.decodeJobRecord(redisReply.bytes(reply[1])) };
    return code === 2 ? { state: 'claimed' } : { state: 'absent' };
  }

  async renew(claim: ClaimedJob, leaseMs: number): Promise<boolean> {
    this.assertOpen();
    assertLeaseMs(leaseMs);
    const keys = [this.keys.leases(claim.channel), this.keys.receipts];
    const leaseUntil = await this.connection.run((client) =>
      renewScript.run(client, keys, [String(claim.job.id), claim.receipt, leaseMs]),
    );
    return redisReply.number(leaseUntil) > 0;
  }

  async release(claim: ClaimedJob): Promise<void> {
    this.assertOpen();
    const { channel } = claim;
    const keys = [
      ...this.keys.lanes(channel),
      this.keys.leases(channel),
      this.keys.wake(channel),
      this.keys.jobs,
      this.keys.receipts,
      this.keys.waitResult,
    ];
    await this.connection.run((client) => releaseScript.run(client, keys, [String(claim.job.id), claim.receipt]));
  }

  /** O(1): only the job's record goes; a claim drops its id from the lane later (see redis-keys.ts). */
  async remove(jobId: number): Promise<boolean> {
    this.assertOpen();
    const keys = [this.keys.jobs, this.keys.receipts];
    const removed = await this.connection.run((client) => removeScript.run(client, keys, [String(jobId)]));
    return redisReply.number(removed) === 1;
  }

  async find(jobId: number): Promise<Job | undefined> {
    this.assertOpen();
    const payload = await this.connection.run((client) => client.hgetBuffer(this.keys.jobs, String(jobId)));
    return payload === null ? undefined : redisCodec.decodeJobRecord(payload);
  }

  async list(offset: number, limit: number): Promise<Job[]> {
    this.assertOpen();
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new InvalidArgumentError(`offset must be >= 0, got ${offset}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`limit must be >= 0, got ${limit}`);
    if (limit === 0) return [];
    // an admin call: every id is read and sorted here; a job removed between the two reads is left out
    const all = await this.connection.run((client) => client.hkeys(this.keys.jobs));
    const ids = all
      .map(Number)
      .sort((a, b) => a - b)
      .slice(offset, offset + limit);
    if (ids.length === 0) return [];
    const records = await this.connection.run((client) => client.hmgetBuffer(this.keys.jobs, ...ids.map(String)));
    return records.flatMap((record) => (record === null ? [] : [redisCodec.decodeJobRecord(record)]));
  }

  async count(): Promise<number> {
    this.assertOpen();
    return this.connection.run((client) => client.hlen(this.keys.jobs));
  }

  /** One script call per channel (sent together); without `channels`, the channels are found by SCAN first. */
  async channelStats(channels?: readonly string[]): Promise<ChannelStats[]> {
    this.assertOpen();
    const names = channels ?? (await this.scanChannels());
    return Promise.all(names.map((channel) => this.statsOf(channel)));
  }

  /**
   * Wakes every waiting claim() (they return []) and closes the connections; later calls throw UnavailableError.
   * Claimed jobs stay leased in Redis: release them first to hand them on at once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Sizes for leak checks: waiting claim() calls, and blocking connections idle and busy. */
  stats(): { waitingClaims: number; blockers: { idle: number; busy: number } } {
    return { waitingClaims: this.waits.size, blockers: this.blockers.size };
  }

  private async shutDown(): Promise<void> {
    for (const stop of this.waits) stop();
    this.blockers.close();
    await this.connection.close();
  }

  private async statsOf(channel: string): Promise<ChannelStats> {
    const keys = [...this.keys.lanes(channel), this.keys.leases(channel), this.keys.done(channel), this.keys.jobs];
    const reply = redisReply.array(
      await this.connection.run((client) => channelStatsScript.run(client, keys, [channel])),
    );
    const now = redisReply.number(reply[0]);
    let oldest = Infinity;
    for (const head of redisReply.array(reply[3])) {
      const record = redisReply.bytes(head);
      if (record.length === 0) continue;
      const job = redisCodec.decodeJobRecord(record);
      oldest = Math.min(oldest, Math.max(job.enqueueTime, job.runAfterTime));
    }
    const flat = redisReply.array(reply[4]).map((field) => Number(redisReply.bytes(field).toString()));
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) buckets.push([flat[i] as number, flat[i + 1] as number]);
    return {
      channel,
      waiting: redisReply.number(reply[1]),
      running: redisReply.number(reply[2]),
      oldestWaitingMs: oldest === Infinity ? 0 : Math.max(0, now - oldest),
      completedPerSecond: perSecond(buckets, rateBucket(now)),
    };
  }

  /** The channels that have keys: jobs waiting or leased, or claims ended within the last minute; by name. */
  private async scanChannels(): Promise<string[]> {
    const client = this.connection.client;
    // the queue's keys share one slot, so one master holds them; which one is not worth asking: scan each
    const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    const found = new Set<string>();
    for (const node of nodes) {
      for (const { match, channelOf } of this.keys.channelKeyPatterns) {
        await this.connection.run(async () => {
          for await (const batch of node.scanStream({ match, count: 500 })) {
            for (const key of batch as string[]) found.add(channelOf(key));
          }
        }, 60_000);
      }
    }
    return [...found].sort();
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new UnavailableError('the job queue is closed');
  }

  /** One claim script call: lapsed leases go back, then up to `max` jobs are leased. */
  private async claimNow(
    channel: string,
    max: number,
    leaseMs: number,
  ): Promise<{ jobs: ClaimedJob[]; msUntilLeaseEnd: number }> {
    const keys = [
      ...this.keys.lanes(channel),
      this.keys.leases(channel),
      this.keys.wake(channel),
      this.keys.jobs,
      this.keys.receipts,
      this.keys.seq,
      this.keys.waitResult,
    ];
    const reply = redisReply.array(
      await this.connection.run((client) => claimScript.run(client, keys, [max, leaseMs, channel])),
    );
    const leaseUntil = redisReply.number(reply[0]);
    const lapsed = redisReply.number(reply[2]);
    if (lapsed > 0) this.onLeasesLapsed?.(channel, lapsed);
    const jobs: ClaimedJob[] = [];
    for (let i = 3; i < reply.length; i += 2) {
      jobs.push({
        job: redisCodec.decodeJobRecord(redisReply.bytes(reply[i + 1])),
        channel,
        leaseUntil,
        receipt: redisReply.bytes(reply[i]).toString(),
      });
    }
    return { jobs, msUntilLeaseEnd: redisReply.number(reply[1]) };
  }

  /**
   * Blocks on the channel's wake list and claims whenever woken (a token, or the earliest lease end), until jobs come,
   * the deadline passes, the signal aborts or the queue closes. A blocking read still in flight when the wait ends
   * finishes on its own; a token it took then is handed on.
   */
  private async waitToClaim(
    channel: string,
    max: number,
    leaseMs: number,
    deadline: number,
    msUntilLeaseEnd: number,
    signal: AbortSignal | undefined,
  ): Promise<ClaimedJob[]> {
    const stopper = new AbortController();
    const stop = (): void => stopper.abort();
    signal?.addEventListener('abort', stop, { once: true });
    this.waits.add(stop);
    let read: Promise<boolean> | undefined;
    let untilLeaseEnd = msUntilLeaseEnd;
    try {
      for (;;) {
        const left = deadline - performance.now();
        if (left <= 0 || stopper.signal.aborted) return [];
        read ??= this.blockers.pop(this.keys.wake(channel), Math.min(left, this.maxBlockMs));
        const wakeIn = untilLeaseEnd >= 0 ? Math.min(left, untilLeaseEnd + 1) : left;
        const woken = await firstOf(read, wakeIn, stopper.signal);
        if (stopper.signal.aborted) return [];
        if (woken === 'read') read = undefined;
        const claimed = await this.claimNow(channel, max, leaseMs);
        if (claimed.jobs.length > 0) return claimed.jobs;
        untilLeaseEnd = claimed.msUntilLeaseEnd;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      this.waits.delete(stop);
      if (read !== undefined) this.handOnToken(read, channel);
    }
  }

  /**
   * A blocking read outlived its wait: if it takes a token, pass the token on to the next claimer. Failures are
   * dropped: the read's connection is gone, and the other claimers re-read within maxBlockMs anyway.
   */
  private handOnToken(read: Promise<boolean>, channel: string): void {
    const keys = [...this.keys.lanes(channel), this.keys.wake(channel)];
    read
      .then((took) => {
        if (took && this.closing === undefined) {
          return this.connection.run((client) => passWakeScript.run(client, keys, []));
        }
        return undefined;
      })
      .catch(() => {});
  }

  private async sendEnqueues(channel: string, entries: readonly Entry[]): Promise<number[]> {
    const keys = [...this.keys.lanes(channel), this.keys.wake(channel), this.keys.jobs, this.keys.uniq];
    const maxTotal = Number.isFinite(this.maxTotal) ? this.maxTotal : 0;
    const args: Array<string | number | Buffer> = [this.maxPending, maxTotal, channel];
    for (const entry of entries) args.push(entry.id, entry.lane, entry.uniqKey, entry.payload);
    const codes = await this.connection.run((client) => enqueueScript.run(client, keys, args));
    return redisReply.array(codes).map((code) => redisReply.number(code));
  }

  /** One script call for a batch of acks and completes of a channel. */
  private async sendEndings(channel: string, endings: readonly Ending[]): Promise<boolean[]> {
    const keys = [
      this.keys.leases(channel),
      this.keys.jobs,
      this.keys.receipts,
      this.keys.waitResult,
      this.keys.status,
      this.keys.uniq,
      this.keys.results,
      this.keys.resultsExpiry,
      this.keys.done(channel),
    ];
    const args: Array<string | number | Buffer> = [
      this.keepResultMs,
      this.keys.jobResultChannelPrefix,
      this.keys.workerResultChannelPrefix,
      JobStatus.PENDING,
      RATE_BUCKET_MS,
      RATE_BUCKETS,
    ];
    for (const { claim, completion } of endings) {
      const result = completion?.result;
      let what = 'a';
      if (completion !== undefined) what = completion.continues ? 'c' : 'f';
      args.push(
        String(claim.job.id),
        claim.receipt,
        what,
        completion?.uniqKey ?? '',
        result?.encoded.workerId ?? 0,
        result === undefined ? '' : asBuffer(result.encoded.bytes),
        result === undefined ? '' : result.keep ? '1' : '0',
      );
    }
    const codes = await this.connection.run((client) => completeScript.run(client, keys, args));
    return redisReply.array(codes).map((code) => redisReply.number(code) === 1);
  }
}

/** A channel name goes into the header of its jobs' records, which ends at the first newline. */
function assertChannel(channel: string): void {
  if (channel.includes(String.fromCharCode(RECORD_HEADER_END))) {
    throw new InvalidArgumentError(`a channel name cannot contain a line break, got ${quote(channel)}`);
  }
}

/**
 * Resolves 'read' when the read settles first (rejects if it fails), 'timer' after `ms` (may be Infinity), 'stop'
 * on abort.
 */
function firstOf(read: Promise<boolean>, ms: number, stop: AbortSignal): Promise<'read' | 'timer' | 'stop'> {
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      cancelTimer();
      stop.removeEventListener('abort', onStop);
    };
    const onStop = (): void => {
      finish();
      resolve('stop');
    };
    const cancelTimer = startDeadlineTimer(ms, () => {
      finish();
      resolve('timer');
    });
    stop.addEventListener('abort', onStop, { once: true });
    read.then(
      () => {
        finish();
        resolve('read');
      },
      (error: unknown) => {
        finish();
        reject(error instanceof Error ? error : new InternalError(String(error)));
      },
    );
  });
}
