import type { JobStatus } from '../../core/src/index.js';
import { InvalidArgumentError, UnavailableError } from '../../core/src/index.js';
import type { JobStateStore } from './ports.js';
import { warnHandlerError } from './warn-handler-error.js';

export interface MemoryJobStateStoreOptions {
  /** The clock for cancellation expiry, epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Told when an onCancel handler throws; the other handlers still run. @default a process warning */
  readonly onHandlerError?: ((error: unknown) => void) | undefined;
}

/**
 * The Standalone JobStateStore: plain maps, and onCancel handlers called synchronously by cancel(). The synchronous
 * methods (`…Now`) are the steps MemoryQueue takes inside its own atomic operations (enqueue reserves a uniq key,
 * complete sets or deletes a status and frees it, cancel tells the listeners), the way RedisQueue's scripts change
 * the Redis store's keys.
 */
export class MemoryJobStateStore implements JobStateStore {
  private readonly now: () => number;
  private readonly onHandlerError: (error: unknown) => void;
  private readonly statuses = new Map<number, JobStatus>();
  /** uniq key → the job holding it */
  private readonly uniqKeys = new Map<string, number>();
  /** job id → when its cancellation is forgotten, epoch ms */
  private readonly cancellations = new Map<number, number>();
  private readonly cancelHandlers = new Set<(jobId: number) => void>();
  private closed = false;

  constructor(options: MemoryJobStateStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.onHandlerError = options.onHandlerError ?? warnHandlerError;
  }

  async setStatus(jobId: number, status: JobStatus): Promise<void> {
    this.setStatusNow(jobId, status);
  }

  setStatusNow(jobId: number, status: JobStatus): void {
    this.assertOpen();
    this.statuses.set(jobId, status);
  }

  async getStatus(jobId: number): Promise<JobStatus | undefined> {
    this.assertOpen();
    return this.statuses.get(jobId);
  }

  async deleteStatus(jobId: number): Promise<void> {
    this.deleteStatusNow(jobId);
  }

  deleteStatusNow(jobId: number): void {
    this.assertOpen();
    this.statuses.delete(jobId);
  }

  async listStatuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    this.assertOpen();
    return [...this.statuses].sort(([a], [b]) => a - b).map(([jobId, status]) => ({ jobId, status }));
  }

  async acquireUniqKey(uniqKey: string, jobId: number): Promise<boolean> {
    return this.acquireUniqKeyNow(uniqKey, jobId);
  }

  acquireUniqKeyNow(uniqKey: string, jobId: number): boolean {
    this.assertOpen();
    const holder = this.uniqKeys.get(uniqKey);
    if (holder !== undefined) return holder === jobId;
    this.uniqKeys.set(uniqKey, jobId);
    return true;
  }

  async releaseUniqKey(uniqKey: string, jobId: number): Promise<void> {
    this.releaseUniqKeyNow(uniqKey, jobId);
  }

  releaseUniqKeyNow(uniqKey: string, jobId: number): void {
    this.assertOpen();
    if (this.uniqKeys.get(uniqKey) === jobId) this.uniqKeys.delete(uniqKey);
  }

  async cancel(jobId: number, ttlMs: number, options?: { readonly announce: boolean }): Promise<void> {
    this.assertOpen();
    if (!(ttlMs > 0)) throw new InvalidArgumentError(`ttlMs must be > 0, got ${ttlMs}`);
    const now = this.now();
    // cancellations are rare: sweeping them all here keeps the map small without a timer
    for (const [id, until] of this.cancellations) if (until <= now) this.cancellations.delete(id);
    this.cancellations.set(jobId, now + ttlMs);
    if (options?.announce !== false) this.announceCancelNow(jobId);
  }

  /** Tells every onCancel listener, without a cancellation mark (MemoryQueue.cancel of a claimed job). */
  announceCancelNow(jobId: number): void {
    this.assertOpen();
    for (const handler of this.cancelHandlers) {
      try {
        handler(jobId);
      } catch (error) {
        this.onHandlerError(error);
      }
    }
  }

  async isCancelled(jobId: number): Promise<boolean> {
    this.assertOpen();
    const until = this.cancellations.get(jobId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.cancellations.delete(jobId);
    return false;
  }

  async onCancel(handler: (jobId: number) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    const subscription = (jobId: number): void => handler(jobId);
    this.cancelHandlers.add(subscription);
    return async () => {
      this.cancelHandlers.delete(subscription);
    };
  }

  /** Forgets everything; later calls throw UnavailableError. */
  async close(): Promise<void> {
    this.closed = true;
    this.statuses.clear();
    this.uniqKeys.clear();
    this.cancellations.clear();
    this.cancelHandlers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the job state store is closed');
  }
}
