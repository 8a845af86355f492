/**
 * Runs the jobs of one channel, at most `concurrency` at a time, in this process. Scheduling only: what a job's
 * claim, start, end and give-back mean (statuses, results, retries, acks) is the JobLifecycle's (libs/jobs).
 *
 * State machine: 'created' → start() → 'running' → stop() → 'draining' → 'stopped'.
 * - running: claim as many jobs as there are free slots (blocking claim with a timeout), begin each through the
 *   lifecycle, run it, renew its lease while it runs (and while its result is handled), then end it.
 * - draining: no more claims; running jobs get `graceMs` to finish, then their signals abort with ShutdownAbortError
 *   and they are given back unfinished.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/src/index.js';
import type { JobLifecycle, RunTicket } from '../../jobs/src/index.js';
import { jobLogFields } from '../../jobs/src/index.js';
import type { ClaimedJob } from '../../queue/src/index.js';
import { JobCancelledError, LeaseLostError, ShutdownAbortError } from './abort-reasons.js';
import { executeJob } from './executor.js';
import type { StaticRunnerPool } from './static-runner-pool.js';

export type DispatcherState = 'created' | 'running' | 'draining' | 'stopped';

export interface ChannelDispatcherDeps {
  readonly channel: string;
  readonly concurrency: number;
  readonly lifecycle: Pick<JobLifecycle, 'claim' | 'begin' | 'renew' | 'end' | 'giveBack' | 'abandon'>;
  /** lends loaded runners to the jobs of use_static workers (`concurrency` instances per worker) */
  readonly staticRunners: Pick<StaticRunnerPool, 'source'>;
  readonly leaseMs: number;
  /** told after a retry was persisted and the claim acked */
  readonly onRetryScheduled?: () => void;
  /** how long one blocking claim waits before looking at its state again */
  readonly claimWaitMs?: number;
  readonly logger: Logger;
}

interface RunningJob {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

export class ChannelDispatcher {
  private stateValue: DispatcherState = 'created';
  private readonly running = new Map<number, RunningJob>();
  private readonly stopClaiming = new AbortController();
  private slotFreed: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: ChannelDispatcherDeps) {}

  get state(): DispatcherState {
    return this.stateValue;
  }

  get runningCount(): number {
    return this.running.size;
  }

  start(): void {
    if (this.stateValue !== 'created') throw new Error(`cannot start a dispatcher that is ${this.stateValue}`);
    this.stateValue = 'running';
    this.loopDone = this.loop();
  }

  /** Aborts the job if it runs here; the executor reports it as CANCELLED. */
  cancel(jobId: number): boolean {
    const job = this.running.get(jobId);
    job?.controller.abort(new JobCancelledError(jobId));
    return job !== undefined;
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.drain(graceMs);
    return this.stopping;
  }

  private async drain(graceMs: number): Promise<void> {
    if (this.stateValue === 'created') {
      this.stateValue = 'stopped';
      return;
    }
    this.stateValue = 'draining';
    this.stopClaiming.abort();
    this.slotFreed?.();
    await this.loopDone;
    const all = (): Promise<unknown> => Promise.allSettled([...this.running.values()].map((r) => r.done));
    const graceOver = sleep(graceMs, 'grace', { ref: false });
    if ((await Promise.race([all().then(() => 'drained'), graceOver])) === 'grace') {
      this.deps.logger.warn(
        { channel: this.deps.channel, jobs: this.running.size },
        'grace period over: aborting jobs',
      );
      for (const r of this.running.values()) r.controller.abort(new ShutdownAbortError());
      await all();
    }
    this.stateValue = 'stopped';
  }

  private async loop(): Promise<void> {
    const { lifecycle, channel, concurrency, leaseMs, logger } = this.deps;
    let backoffMs = 100;
    while (this.stateValue === 'running') {
      const free = concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        this.slotFreed = undefined;
        continue;
      }
      let claims: ClaimedJob[];
      try {
        claims = await lifecycle.claim(channel, {
          max: free,
          waitMs: this.deps.claimWaitMs ?? 1000,
          leaseMs,
          signal: this.stopClaiming.signal,
        });
        backoffMs = 100;
      } catch (err) {
        if (this.stateValue !== 'running') break;
        logger.warn({ err, channel }, `claiming jobs failed; retrying in ${backoffMs} ms`);
        await sleep(backoffMs, undefined, { signal: this.stopClaiming.signal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      for (const claim of claims) this.launch(claim);
    }
  }

  private launch(claim: ClaimedJob): void {
    const controller = new AbortController();
    const jobId = claim.job.id;
    /** the job's worker, once known: named in a line about the job */
    const seen: { worker?: RunTicket['worker'] } = {};
    const done = this.handle(claim, controller, seen)
      .catch((err: unknown) => {
        // the claim is not acked: its lease expires and the job is delivered again
        this.deps.logger.error(
          { ...jobLogFields(claim.job, seen.worker, this.deps.channel), err },
          'processing a job failed; it will be retried when its lease expires',
        );
      })
      .finally(() => {
        this.running.delete(jobId);
        this.slotFreed?.();
      });
    this.running.set(jobId, { controller, done });
  }

  private async handle(
    claim: ClaimedJob,
    controller: AbortController,
    seen: { worker?: RunTicket['worker'] },
  ): Promise<void> {
    const { lifecycle, leaseMs, logger } = this.deps;
    const ticket = await lifecycle.begin(claim);
    if (ticket === undefined) return;
    const { job, worker } = ticket;
    seen.worker = worker;
    // the lease is renewed until the job is ended, finishing included (storing a result may take a while and is tried
    // again on failure)
    const renewal = setInterval(
      () => {
        lifecycle
          .renew(ticket, leaseMs)
          .then((held) => {
            if (held) return;
            // another worker may take the job now: stop this run so it never runs twice at once
            logger.warn(jobLogFields(job, worker), 'lost the lease of a running job; aborting this run');
            controller.abort(new LeaseLostError(job.id));
          })
          .catch((err: unknown) => logger.warn({ ...jobLogFields(job, worker), err }, 'renewing a lease failed'));
      },
      Math.max(100, Math.floor(leaseMs / 3)),
    );

    let next: 'retry' | 'final';
    try {
      const outcome = await this.run(ticket, controller.signal);
      if (outcome.status === 'lease-lost') {
        lifecycle.abandon(ticket);
        return;
      }
      if (outcome.status === 'shutdown') {
        await lifecycle.giveBack(ticket);
        return;
      }
      next = await lifecycle.end(ticket, { ...outcome, status: outcome.status });
    } finally {
      clearInterval(renewal);
    }
    // the retry row may be due before the pollers' next tick; woken only now, they no longer find the job claimed
    if (next === 'retry') this.deps.onRetryScheduled?.();
  }

  private run(ticket: RunTicket, signal: AbortSignal): ReturnType<typeof executeJob> {
    const { job, worker, definition } = ticket;
    const runners = worker.useStatic
      ? this.deps.staticRunners.source(worker, definition, this.deps.concurrency)
      : undefined;
    return executeJob(job, worker, definition, { signal, logger: this.deps.logger, runners });
  }
}
