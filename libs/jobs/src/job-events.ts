/**
 * What the job lifecycle tells an observer (the apps' metrics) as jobs move: facts it knows already at those points,
 * so observing costs no I/O. Workers are named by name (a bounded set, fit for labels); job ids never appear.
 * Every method is called synchronously on the job's path: it must be cheap and must not throw.
 */
import type { ResultStatus } from '../../core/src/index.js';

export interface JobEvents {
  /** A new job (Enqueue, next_workers, a schedule, a requeued dead letter) is stored where its route says. */
  onEnqueued(worker: string, channel: string): void;
  /**
   * A claimed job begins its run. `latencyMs`: from when the job was due (its enqueue time, or its run_after_time
   * when later: a delayed job, a retry, a periodic run) to now.
   */
  onStarted(worker: string, latencyMs: number): void;
  /** A run is over (whatever its outcome); `durationMs` is the runner's own time. */
  onRunEnded(worker: string, durationMs: number): void;
  /** A failed run will be retried: its retry row is stored and its claim completed. */
  onRetry(worker: string): void;
  /**
   * A job is final with this result status (a run's, or one given without a run: cancelled, worker gone); told once
   * the queue has completed it (a completion that found its lease gone is not told: the job runs again). `worker` is
   * undefined when the job's worker no longer exists.
   */
  onFinished(worker: string | undefined, status: ResultStatus): void;
  /** A final failure was kept as a dead letter. */
  onDeadLetter(worker: string | undefined): void;
  /** A running job was given back to its channel unfinished (shutdown): it is delivered again at once. */
  onGivenBack(channel: string): void;
  /** A running job's lease was found lost: the run stops, and whoever claims the job next runs it again. */
  onLeaseLost(worker: string): void;
}

const ignore = (): void => {};

/** The default observer: tells nobody. */
export const NO_JOB_EVENTS: JobEvents = {
  onEnqueued: ignore,
  onStarted: ignore,
  onRunEnded: ignore,
  onRetry: ignore,
  onFinished: ignore,
  onDeadLetter: ignore,
  onGivenBack: ignore,
  onLeaseLost: ignore,
};
