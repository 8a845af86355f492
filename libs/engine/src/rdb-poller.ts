/**
 * Brings RDB jobs (delayed, periodic, FORCED_RDB, persisted retries) to the queue on time.
 *
 * Every fetch interval (or at once when woken) it reads rows due within the next interval for the workers of its
 * channels, claims each with an optimistic grab, and at the row's run_after_time hands the job to the lifecycle
 * (queueDue: into its channel's queue, or finished when it was cancelled meanwhile), so jobs start within
 * milliseconds of their time. A job already in the queue is not brought twice.
 *
 * State machine: 'created' → start() → 'running' → stop() → 'stopped'.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Logger, Worker } from '../../core/src/index.js';
import { startDeadlineTimer } from '../../core/src/index.js';
import type { JobLifecycle } from '../../jobs/src/index.js';
import { channelOf, jobLogFields } from '../../jobs/src/index.js';
import type { DueJobQuery } from '../../storage/src/index.js';

export interface RdbPollerDeps {
  readonly rows: {
    findDue(query: DueJobQuery): Promise<Job[]>;
    grab(id: number, expected: number, until: number): Promise<boolean>;
  };
  readonly lifecycle: Pick<JobLifecycle, 'isQueued' | 'queueDue'>;
  /** every worker (the poller picks those of its channels) */
  readonly listWorkers: () => Promise<Worker[]>;
  readonly channels: ReadonlySet<string>;
  readonly fetchIntervalMs: number;
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly batchSize?: number;
  readonly now?: () => number;
}

export type PollerState = 'created' | 'running' | 'stopped';

export class RdbPoller {
  private stateValue: PollerState = 'created';
  private readonly stopSignal = new AbortController();
  private wakeUp: AbortController = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  /** jobs claimed and waiting for their time in this process */
  private readonly scheduled = new Map<number, () => void>();
  private readonly now: () => number;

  constructor(private readonly deps: RdbPollerDeps) {
    this.now = deps.now ?? Date.now;
  }

  get state(): PollerState {
    return this.stateValue;
  }

  start(): void {
    if (this.stateValue !== 'created') throw new Error(`cannot start a poller that is ${this.stateValue}`);
    this.stateValue = 'running';
    this.loopDone = this.loop();
  }

  /** Polls now instead of at the next tick (a due row was just written). */
  wake(): void {
    this.wakeUp.abort();
  }

  async stop(): Promise<void> {
    if (this.stateValue !== 'running') {
      this.stateValue = 'stopped';
      return;
    }
    this.stateValue = 'stopped';
    this.stopSignal.abort();
    await this.loopDone;
    // claimed but not yet queued: the grabs expire and the rows are polled again (here after a restart, or elsewhere)
    for (const cancel of this.scheduled.values()) cancel();
    this.scheduled.clear();
  }

  private async loop(): Promise<void> {
    let backoffMs = this.deps.fetchIntervalMs;
    while (this.stateValue === 'running') {
      const wake = this.wakeUp;
      let waitMs = this.deps.fetchIntervalMs;
      try {
        const full = await this.poll();
        // a full batch means more are due: poll again at once
        if (full) waitMs = 0;
        backoffMs = this.deps.fetchIntervalMs;
      } catch (err) {
        this.deps.logger.warn({ err }, `polling due jobs failed; retrying in ${backoffMs} ms`);
        waitMs = backoffMs;
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
      if (waitMs > 0 && !wake.signal.aborted) {
        const signal = AbortSignal.any([this.stopSignal.signal, wake.signal]);
        await sleep(waitMs, undefined, { signal }).catch(() => undefined);
      }
      if (wake.signal.aborted) this.wakeUp = new AbortController();
    }
  }

  /** One poll; returns true when the batch was full. */
  private async poll(): Promise<boolean> {
    const { rows, fetchIntervalMs, leaseMs } = this.deps;
    const workers = (await this.deps.listWorkers()).filter((w) => this.deps.channels.has(channelOf(w)));
    if (workers.length === 0) return false;
    const workerById = new Map(workers.map((w) => [w.id, w]));
    const now = this.now();
    const limit = this.deps.batchSize ?? 500;
    const due = await rows.findDue({
      dueBefore: now + fetchIntervalMs,
      now,
      workerIds: [...workerById.keys()],
      limit,
    });
    for (const job of due) {
      if (this.scheduled.has(job.id) || (await this.deps.lifecycle.isQueued(job.id))) continue;
      const hold = Math.max(job.runAfterTime, now) + fetchIntervalMs + leaseMs;
      if (!(await rows.grab(job.id, job.grabbedUntilTime ?? 0, hold))) continue;
      const worker = workerById.get(job.workerId);
      if (worker === undefined) continue;
      const claimed: Job = { ...job, grabbedUntilTime: hold };
      const cancel = startDeadlineTimer(
        Math.max(0, job.runAfterTime - this.now()),
        () => void this.bring(claimed, worker),
      );
      this.scheduled.set(job.id, cancel);
    }
    return due.length >= limit;
  }

  private async bring(job: Job, worker: Worker): Promise<void> {
    this.scheduled.delete(job.id);
    if (this.stateValue !== 'running') return;
    try {
      await this.deps.lifecycle.queueDue(job, channelOf(worker));
    } catch (err) {
      // the grab expires and the row is polled again
      this.deps.logger.warn(
        { ...jobLogFields(job, worker), err },
        'could not queue a due job; it will be polled again',
      );
    }
  }
}
