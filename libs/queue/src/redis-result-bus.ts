import type { JobResult } from '../../core/src/index.js';
import {
  coerceError,
  DeadlineExceededError,
  EncodedJobResult,
  InvalidArgumentError,
  startDeadlineTimer,
  UnavailableError,
} from '../../core/src/index.js';
import type { ResultBus } from './ports.js';
import { asBuffer } from './redis-codec.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { redisReply } from './redis-reply.js';
import { luaScript } from './redis-lua.js';
import { RedisSubscriber } from './redis-subscriber.js';
import { warnHandlerError } from './warn-handler-error.js';

export interface RedisResultBusOptions {
  readonly redis: RedisConnectionOptions;
  /** The namespace of every key and channel (REDIS_KEY_PREFIX); no braces or glob characters. */
  readonly keyPrefix: string;
  /** How long a kept result stays available to late listeners, ms (JOB_QUEUE_EXPIRE_JOB_RESULT_SECONDS). */
  readonly keepMs: number;
  /**
   * How often a waiting waitForJob reads the kept result again, ms: the backstop for a message lost while the
   * subscriber connection was down. @default 1000
   */
  readonly recheckMs?: number | undefined;
  /**
   * Told when a subscribeWorker handler throws, or a message or kept value is not a JobResult of its job or worker
   * (it is dropped). @default a process warning
   */
  readonly onHandlerError?: ((error: unknown) => void) | undefined;
}

/** A pending waitForJob call; each settles it once. */
interface Waiter {
  succeed(result: EncodedJobResult): void;
  fail(error: Error): void;
}

/** Keeps (when asked) and publishes a result in one atomic step: see redis/lua/result-publish-2.lua. */
const publishScript = luaScript('result-publish-2');
/** A kept result that has not expired. */
const keptScript = luaScript('result-kept-2');

/**
 * The Scalable ResultBus: results travel by Redis pub/sub between processes (fronts and workers), and kept results
 * sit in the queue's results hash until keepMs has passed (key layout in redis-keys.ts), where RedisQueue.complete
 * keeps them too.
 *
 * waitForJob is race-free across processes: it subscribes to the job's channel first and reads the kept result only
 * once the subscription is in place, while publish stores before it publishes. A result published before the
 * subscription is found by the read; one published after reaches the subscription.
 */
export class RedisResultBus implements ResultBus {
  private readonly connection: RedisConnection;
  /** opened by the first waitForJob or subscribeWorker */
  private subscriber: RedisSubscriber | undefined;
  private readonly keys: RedisKeys;
  private readonly keepMs: number;
  private readonly recheckMs: number;
  private readonly onHandlerError: (error: unknown) => void;
  /** the pending waitForJob calls of this process, by job id */
  private readonly waiters = new Map<number, Set<Waiter>>();
  private closing: Promise<void> | undefined;

  constructor(options: RedisResultBusOptions) {
    if (!(options.keepMs > 0)) throw new InvalidArgumentError(`keepMs must be > 0, got ${options.keepMs}`);
    const recheckMs = options.recheckMs ?? 1_000;
    if (!(recheckMs > 0)) throw new InvalidArgumentError(`recheckMs must be > 0, got ${recheckMs}`);
    this.keys = new RedisKeys(options.keyPrefix);
    this.keepMs = Math.ceil(options.keepMs);
    this.recheckMs = recheckMs;
    this.onHandlerError = options.onHandlerError ?? warnHandlerError;
    this.connection = new RedisConnection(options.redis, true, [publishScript, keptScript]);
  }

  /**
   * Encodes a JobResult once; those bytes are the message on both channels and the kept value. Also settles this
   * process's waiters of the job at once, whether or not their subscription is in place yet.
   */
  async publish(published: JobResult | EncodedJobResult, options: { keep: boolean }): Promise<void> {
    this.assertOpen();
    const result = published instanceof EncodedJobResult ? published : EncodedJobResult.of(published);
    const { bytes } = result;
    const args = [
      options.keep ? this.keepMs : 0,
      asBuffer(bytes),
      String(result.jobId),
      this.keys.jobResultChannel(result.jobId),
      this.keys.workerResultChannel(result.workerId),
    ];
    await this.connection.run((client) =>
      publishScript.run(client, [this.keys.results, this.keys.resultsExpiry], args),
    );
    const local = this.waiters.get(result.jobId);
    if (local !== undefined) for (const waiter of [...local]) waiter.succeed(result);
  }

  async getKept(jobId: number): Promise<EncodedJobResult | undefined> {
    this.assertOpen();
    return this.readKept(jobId);
  }

  /**
   * Rejects a signal's non-Error reason wrapped by coerceError; UnavailableError when Redis fails. A result that is
   * not kept reaches a waiter of another process only if it is published after the waiter's subscription is in
   * place (a round trip after the call); kept results always do.
   */
  async waitForJob(jobId: number, timeoutMs: number, signal?: AbortSignal): Promise<EncodedJobResult> {
    this.assertOpen();
    if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be >= 0, got ${timeoutMs}`);
    if (signal?.aborted === true) throw coerceError(signal.reason);
    const subscriber = this.openSubscriber();
    return new Promise<EncodedJobResult>((resolve, reject) => {
      let settled = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      let recheck: NodeJS.Timeout | undefined;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        cancelTimer();
        clearInterval(recheck);
        signal?.removeEventListener('abort', onAbort);
        this.removeWaiter(jobId, waiter);
        if (unsubscribe !== undefined) this.leave(unsubscribe);
        finish();
      };
      const succeed = (result: EncodedJobResult): void => settle(() => resolve(result));
      const fail = (error: Error): void => settle(() => reject(error));
      const waiter: Waiter = { succeed, fail };
      const onAbort = (): void => fail(coerceError(signal?.reason));
      const cancelTimer = startDeadlineTimer(timeoutMs, () =>
        fail(new DeadlineExceededError(`no result for job ${jobId} within ${timeoutMs} ms`)),
      );
      /** a failed first read fails the wait; a failed re-read is left to the next one or the subscription */
      const lookAtKept = (onError: (error: Error) => void): void => {
        this.readKept(jobId).then((kept) => {
          if (kept !== undefined) succeed(kept);
        }, onError);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.addWaiter(jobId, waiter);
      // subscribe first, then look at the kept result: a result published at any moment is seen
      subscriber
        .subscribe(this.keys.jobResultChannel(jobId), (message) => {
          const result = this.check(message, 'job', jobId);
          if (result !== undefined) succeed(result);
        })
        .then((leave) => {
          if (settled) {
            this.leave(leave);
            return;
          }
          unsubscribe = leave;
          lookAtKept(fail);
          recheck = setInterval(() => lookAtKept(() => {}), this.recheckMs);
        }, fail);
    });
  }

  async subscribeWorker(workerId: number, handler: (result: EncodedJobResult) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    return this.openSubscriber().subscribe(this.keys.workerResultChannel(workerId), (message) => {
      const result = this.check(message, 'worker', workerId);
      if (result === undefined) return;
      try {
        handler(result);
      } catch (error) {
        this.onHandlerError(error);
      }
    });
  }

  /** Rejects every pending waitForJob with UnavailableError and closes the connections; later calls throw it too. */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.subscriber?.close(), this.connection.close()]).then(() => {
      const closed = new UnavailableError('the result bus is closed');
      for (const waiter of [...this.waiters.values()].flatMap((set) => [...set])) waiter.fail(closed);
    });
    return this.closing;
  }

  /** Sizes for leak checks: jobs with pending waitForJob calls, subscribed channels. */
  stats(): { waitedJobs: number; channels: number } {
    return { waitedJobs: this.waiters.size, channels: this.subscriber?.size ?? 0 };
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new UnavailableError('the result bus is closed');
  }

  private addWaiter(jobId: number, waiter: Waiter): void {
    let jobWaiters = this.waiters.get(jobId);
    if (jobWaiters === undefined) {
      jobWaiters = new Set();
      this.waiters.set(jobId, jobWaiters);
    }
    jobWaiters.add(waiter);
  }

  private removeWaiter(jobId: number, waiter: Waiter): void {
    const jobWaiters = this.waiters.get(jobId);
    if (jobWaiters?.delete(waiter) === true && jobWaiters.size === 0) this.waiters.delete(jobId);
  }

  private openSubscriber(): RedisSubscriber {
    this.subscriber ??= new RedisSubscriber(this.connection.duplicate(false));
    return this.subscriber;
  }

  private async readKept(jobId: number): Promise<EncodedJobResult | undefined> {
    const keys = [this.keys.results, this.keys.resultsExpiry];
    const payload = await this.connection.run((client) => keptScript.run(client, keys, [String(jobId)]));
    return payload === null ? undefined : this.check(redisReply.bytes(payload), 'job', jobId);
  }

  /**
   * The bytes as a result of the job or worker they came for, checked without decoding them (they go to clients as
   * they are); anything else is reported and dropped, so no client ever gets it.
   */
  private check(bytes: Buffer, of: 'job' | 'worker', id: number): EncodedJobResult | undefined {
    let result: EncodedJobResult;
    try {
      result = EncodedJobResult.parse(bytes);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.onHandlerError(new InvalidArgumentError(`dropped a result for ${of} ${id}: ${why}`, { cause: error }));
      return undefined;
    }
    const actual = of === 'job' ? result.jobId : result.workerId;
    if (actual === id) return result;
    this.onHandlerError(
      new InvalidArgumentError(`dropped a result for ${of} ${id}: it is a result of ${of} ${actual}`),
    );
    return undefined;
  }

  /**
   * Ends a waiter's subscription without waiting. A failed UNSUBSCRIBE (Redis down) only leaves a channel subscribed
   * whose messages nobody handles, so its error is dropped.
   */
  private leave(unsubscribe: () => Promise<void>): void {
    if (this.closing === undefined) unsubscribe().catch(() => {});
  }
}
