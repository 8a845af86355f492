/**
 * Runs the jobs of one channel, at most `concurrency` at a time, in this process.
 *
 * State machine: 'created' → start() → 'running' → stop() → 'draining' → 'stopped'.
 * - running: claim as many jobs as there are free slots (blocking claim with a timeout), run each, renew its lease
 *   while it runs, hand the outcome to the ResultProcessor, then ack.
 * - draining: no more claims; running jobs get `graceMs` to finish, then their signals abort with ShutdownAbortError
 *   and they go back to the queue unfinished.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Logger, Worker } from '../../core/src/index.js';
import { JobStatus, ResultStatus } from '../../core/src/index.js';
import type { ClaimedJob, JobQueue, JobStateStore } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import { JobCancelledError, LeaseLostError, ShutdownAbortError } from './abort-reasons.js';
import { executeJob } from './executor.js';
import type { ResultProcessor } from '../../jobs/src/index.js';
import type { StaticRunnerPool } from './static-runner-pool.js';

export type DispatcherState = 'created' | 'running' | 'draining' | 'stopped';

export interface ChannelDispatcherDeps {
  readonly channel: string;
  readonly concurrency: number;
  readonly queue: JobQueue;
  readonly state: JobStateStore;
  readonly processor: Pick<ResultProcessor, 'process' | 'finishWithoutRun'>;
  /** RDB holds of jobs that came from rows: extended while the job runs, released on shutdown */
  readonly rows: {
    grab(id: number, expected: number, until: number): Promise<boolean>;
    release(id: number): Promise<void>;
  };
  readonly findWorker: (id: number) => Promise<Worker | undefined>;
  readonly findDefinition: (runnerId: number) => RunnerDefinition | undefined;
  /** lends loaded runners to the jobs of use_static workers (`concurrency` instances per worker) */
  readonly staticRunners: Pick<StaticRunnerPool, 'source'>;
  readonly leaseMs: number;
  /** told after a retry was persisted and the claim acked */
  readonly onRetryScheduled?: () => void;
  /** how long one blocking claim waits before looking at its state again */
  readonly claimWaitMs?: number;
  readonly logger: Logger;
  readonly now?: () => number;
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
  private readonly now: () => number;

  constructor(private readonly deps: ChannelDispatcherDeps) {
    this.now = deps.now ?? Date.now;
  }

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
    const { queue, channel, concurrency, leaseMs, logger } = this.deps;
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
        claims = await queue.claim(channel, {
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
    const done = this.handle(claim, controller)
      .catch((err: unknown) => {
        // the claim is not acked: its lease expires and the job is delivered again
        this.deps.logger.error({ err, jobId }, 'processing a job failed; it will be retried when its lease expires');
      })
      .finally(() => {
        this.running.delete(jobId);
        this.slotFreed?.();
      });
    this.running.set(jobId, { controller, done });
  }

  private async handle(claim: ClaimedJob, controller: AbortController): Promise<void> {
    const { queue, state, processor, rows } = this.deps;
    const job: Job = claim.job;
    const [cancelled, status] = await Promise.all([state.isCancelled(job.id), state.getStatus(job.id)]);
    if (status === undefined && job.grabbedUntilTime === undefined) {
      // Every unfinished job has a status. This delivery is stale: an earlier one finished the job and its process
      // died before the ack (the lease expired and the queue handed the job out again). Row-backed jobs are exempt:
      // their RDB row, not the status, says they are unfinished.
      this.deps.logger.info({ jobId: job.id }, 'skipped a delivery of a job that is already finished');
      await queue.ack(claim);
      return;
    }
    if (cancelled) {
      await processor.finishWithoutRun(
        job,
        await this.deps.findWorker(job.workerId),
        ResultStatus.CANCELLED,
        `job ${job.id} was cancelled`,
      );
      await queue.ack(claim);
      return;
    }
    const worker = await this.deps.findWorker(job.workerId);
    const definition = worker === undefined ? undefined : this.deps.findDefinition(worker.runnerId);
    if (worker === undefined || definition === undefined) {
      const why =
        worker === undefined
          ? `worker ${job.workerId} no longer exists`
          : `runner ${worker.runnerId} is not available in this worker process`;
      await processor.finishWithoutRun(job, worker, ResultStatus.OTHER_ERROR, why);
      await queue.ack(claim);
      return;
    }

    await state.setStatus(job.id, JobStatus.RUNNING);
    let held = job.grabbedUntilTime;
    // the queue lease is renewed until the job is acked, finishing included (storing a result may take a while and
    // is tried again on failure); the RDB hold only while it runs, as the processor reschedules against its value
    let finishing = false;
    const renewEvery = Math.max(100, Math.floor(this.deps.leaseMs / 3));
    const renewal = setInterval(() => {
      void (async () => {
        if (!(await queue.renew(claim, this.deps.leaseMs)) && !finishing) {
          // another worker may take the job now: stop this run so it never runs twice at once
          this.deps.logger.warn({ jobId: job.id }, 'lost the lease of a running job; aborting this run');
          controller.abort(new LeaseLostError(job.id));
        }
        if (held !== undefined && !finishing) {
          const until = this.now() + this.deps.leaseMs + Math.max(job.timeout, 0);
          if (await rows.grab(job.id, held, until)) held = until;
        }
      })().catch((err: unknown) => this.deps.logger.warn({ err, jobId: job.id }, 'renewing a lease failed'));
    }, renewEvery);

    let next: 'retry' | 'final';
    try {
      const runners = worker.useStatic
        ? this.deps.staticRunners.source(worker, definition, this.deps.concurrency)
        : undefined;
      const outcome = await executeJob(job, worker, definition, {
        signal: controller.signal,
        logger: this.deps.logger,
        runners,
      });
      finishing = true;
      if (outcome.status === 'lease-lost') return;
      if (outcome.status === 'shutdown') {
        await state.setStatus(job.id, JobStatus.PENDING);
        if (held !== undefined) await rows.release(job.id);
        await queue.release(claim);
        return;
      }
      await state.setStatus(job.id, JobStatus.WAIT_RESULT);
      next = await processor.process(job, worker, { ...outcome, status: outcome.status }, held);
      await queue.ack(claim);
    } finally {
      clearInterval(renewal);
    }
    // the retry row may be due before the pollers' next tick; woken only now, they no longer find the job claimed
    if (next === 'retry') this.deps.onRetryScheduled?.();
  }
}
