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
import { warnHandlerError } from './warn-handler-error.js';

export interface MemoryResultBusOptions {
  /** How long a kept result stays available to late listeners, ms. */
  readonly keepMs: number;
  /** The most results kept at once; the oldest go first. @default 100_000 */
  readonly maxKept?: number | undefined;
  /** The clock for expiry, epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Told when a subscribeWorker handler throws; the other handlers still run. @default a process warning */
  readonly onHandlerError?: ((error: unknown) => void) | undefined;
}

/** A pending waitForJob call. */
interface Waiter {
  settle(result: EncodedJobResult): void;
  fail(error: Error): void;
}

/** Sweeps run at most this often, and at least once a minute. */
const MIN_SWEEP_MS = 1_000;
const MAX_SWEEP_MS = 60_000;

/**
 * The Standalone ResultBus. Kept results live in a Map in publish order, which is also expiry order (one keepMs for
 * all), so expired ones are dropped from the front: on publish, and by a periodic sweep that does not keep the
 * process alive; a lookup also ignores an expired entry. Waiters and subscriptions are removed the moment they end.
 */
export class MemoryResultBus implements ResultBus {
  private readonly keepMs: number;
  private readonly maxKept: number;
  private readonly now: () => number;
  private readonly onHandlerError: (error: unknown) => void;
  private readonly kept = new Map<number, { readonly result: EncodedJobResult; readonly expiresAt: number }>();
  private readonly waiters = new Map<number, Set<Waiter>>();
  private readonly subscriptions = new Map<number, Set<(result: EncodedJobResult) => void>>();
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemoryResultBusOptions) {
    if (!(options.keepMs > 0)) throw new InvalidArgumentError(`keepMs must be > 0, got ${options.keepMs}`);
    const maxKept = options.maxKept ?? 100_000;
    if (!Number.isSafeInteger(maxKept) || maxKept < 0) {
      throw new InvalidArgumentError(`maxKept must be an integer >= 0, got ${maxKept}`);
    }
    this.keepMs = options.keepMs;
    this.maxKept = maxKept;
    this.now = options.now ?? Date.now;
    this.onHandlerError = options.onHandlerError ?? warnHandlerError;
    const sweepMs = Math.min(Math.max(options.keepMs, MIN_SWEEP_MS), MAX_SWEEP_MS);
    this.sweepTimer = setInterval(() => this.dropExpired(), sweepMs).unref();
  }

  /**
   * A JobResult is encoded once, when a waiter first asks for its bytes (the front, to reply with them), and not at
   * all when nobody waits for it; decode() returns the object itself.
   */
  async publish(published: JobResult | EncodedJobResult, options: { keep: boolean }): Promise<void> {
    this.assertOpen();
    const result = published instanceof EncodedJobResult ? published : EncodedJobResult.of(published);
    this.dropExpired();
    if (options.keep && this.maxKept > 0) {
      this.kept.delete(result.jobId);
      this.kept.set(result.jobId, { result, expiresAt: this.now() + this.keepMs });
      if (this.kept.size > this.maxKept) this.kept.delete(this.kept.keys().next().value as number);
    }
    const waiters = this.waiters.get(result.jobId);
    if (waiters !== undefined) for (const waiter of waiters) waiter.settle(result);
    const handlers = this.subscriptions.get(result.workerId);
    if (handlers !== undefined) {
      for (const handler of handlers) {
        try {
          handler(result);
        } catch (error) {
          this.onHandlerError(error);
        }
      }
    }
  }

  async getKept(jobId: number): Promise<EncodedJobResult | undefined> {
    this.assertOpen();
    return this.keptResult(jobId);
  }

  /** Rejects a signal's non-Error reason wrapped by coerceError. */
  async waitForJob(jobId: number, timeoutMs: number, signal?: AbortSignal): Promise<EncodedJobResult> {
    this.assertOpen();
    if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be >= 0, got ${timeoutMs}`);
    if (signal?.aborted === true) throw coerceError(signal.reason);
    return new Promise<EncodedJobResult>((resolve, reject) => {
      const stop = (): void => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
        this.removeWaiter(jobId, waiter);
      };
      const waiter: Waiter = {
        settle: (result) => {
          stop();
          resolve(result);
        },
        fail: (error) => {
          stop();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(coerceError(signal?.reason));
      const cancelTimer = startDeadlineTimer(timeoutMs, () =>
        waiter.fail(new DeadlineExceededError(`no result for job ${jobId} within ${timeoutMs} ms`)),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      // register first, then look at kept results: a result published at any moment is seen
      let jobWaiters = this.waiters.get(jobId);
      if (jobWaiters === undefined) {
        jobWaiters = new Set();
        this.waiters.set(jobId, jobWaiters);
      }
      jobWaiters.add(waiter);
      const kept = this.keptResult(jobId);
      if (kept !== undefined) waiter.settle(kept);
    });
  }

  async subscribeWorker(workerId: number, handler: (result: EncodedJobResult) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    const subscription = (result: EncodedJobResult): void => handler(result);
    let handlers = this.subscriptions.get(workerId);
    if (handlers === undefined) {
      handlers = new Set();
      this.subscriptions.set(workerId, handlers);
    }
    handlers.add(subscription);
    return async () => {
      const current = this.subscriptions.get(workerId);
      if (current?.delete(subscription) === true && current.size === 0) this.subscriptions.delete(workerId);
    };
  }

  /** Rejects every pending waitForJob with UnavailableError and forgets everything; later calls throw it too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    const waiters = [...this.waiters.values()].flatMap((set) => [...set]);
    for (const waiter of waiters) waiter.fail(new UnavailableError('the result bus is closed'));
    this.waiters.clear();
    this.subscriptions.clear();
    this.kept.clear();
  }

  /** Sizes for metrics and leak checks: kept results, jobs with waiters, workers with subscriptions. */
  stats(): { kept: number; waitedJobs: number; subscribedWorkers: number } {
    return { kept: this.kept.size, waitedJobs: this.waiters.size, subscribedWorkers: this.subscriptions.size };
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the result bus is closed');
  }

  private keptResult(jobId: number): EncodedJobResult | undefined {
    const entry = this.kept.get(jobId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry.result;
    this.kept.delete(jobId);
    return undefined;
  }

  private removeWaiter(jobId: number, waiter: Waiter): void {
    const jobWaiters = this.waiters.get(jobId);
    if (jobWaiters?.delete(waiter) === true && jobWaiters.size === 0) this.waiters.delete(jobId);
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [jobId, entry] of this.kept) {
      if (entry.expiresAt > now) return;
      this.kept.delete(jobId);
    }
  }
}
