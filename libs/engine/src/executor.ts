/**
 * Runs one job with its runner: gets a runner loaded with the worker's settings (a new one, or one lent by the
 * static pool), runs with an AbortSignal that fires on the job's timeout (in ms), on cancellation or on shutdown,
 * gives the runner back, and classifies how it ended. Never throws.
 */
import type { Job, Logger, Worker } from '../../core/src/index.js';
import { ResultStatus, startDeadlineTimer } from '../../core/src/index.js';
import { jobLogFields } from '../../jobs/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import { RunnerError } from '../../runners/src/index.js';
import { JobCancelledError, JobTimeoutError, LeaseLostError, ShutdownAbortError } from './abort-reasons.js';
import type { RunnerLease, RunnerSource } from './runner-source.js';
import { freshRunnerSource } from './runner-source.js';

export interface Outcome {
  /**
   * SUCCESS, ERROR_AND_RETRY, FATAL_ERROR, OTHER_ERROR or CANCELLED; 'shutdown' = give the job back, no result;
   * 'lease-lost' = the job belongs to another worker now, leave it alone
   */
  readonly status: ResultStatus | 'shutdown' | 'lease-lost';
  readonly output: Uint8Array[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ExecuteOptions {
  /** aborted with JobCancelledError or ShutdownAbortError by the engine */
  readonly signal: AbortSignal;
  readonly now?: () => number;
  readonly logger: Logger;
  /** where the job's runner comes from. @default a new runner per job (freshRunnerSource) */
  readonly runners?: RunnerSource;
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

export async function executeJob(
  job: Job,
  worker: Worker,
  definition: RunnerDefinition,
  options: ExecuteOptions,
): Promise<Outcome> {
  const now = options.now ?? Date.now;
  const startTime = now();
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(options.signal.reason);
  if (options.signal.aborted) onOuterAbort();
  else options.signal.addEventListener('abort', onOuterAbort, { once: true });
  const cancelTimer =
    job.timeout > 0
      ? startDeadlineTimer(job.timeout, () => controller.abort(new JobTimeoutError(job.timeout)))
      : undefined;

  const finish = (status: Outcome['status'], output: Uint8Array[]): Outcome => ({
    status,
    output,
    startTime,
    endTime: now(),
  });

  const acquiring = (options.runners ?? freshRunnerSource(definition, worker.runnerSettings)).acquire(
    controller.signal,
  );
  let lease: RunnerLease | undefined;
  /** the run ended in a way that leaves the runner fit for another job */
  let reusable = false;
  try {
    const run = async (): Promise<Uint8Array[]> => {
      const acquired = await acquiring;
      lease = acquired;
      controller.signal.throwIfAborted();
      try {
        const output = await acquired.runner.run(job.args, {
          signal: controller.signal,
          jobId: job.id,
          attempt: job.retried + 1,
          timeoutMs: job.timeout,
        });
        reusable = true;
        return output;
      } catch (err) {
        reusable = err instanceof RunnerError;
        throw err;
      }
    };
    // a runner that ignores its signal must not hold the job: the abort wins the race
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(controller.signal.reason as Error);
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => undefined);
    const output = await Promise.race([run(), aborted]);
    return finish(ResultStatus.SUCCESS, output);
  } catch (thrown) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
    if (reason instanceof JobCancelledError) return finish(ResultStatus.CANCELLED, [text(reason.message)]);
    if (reason instanceof ShutdownAbortError) return finish('shutdown', []);
    if (reason instanceof LeaseLostError) return finish('lease-lost', []);
    if (reason instanceof JobTimeoutError) return finish(ResultStatus.ERROR_AND_RETRY, [text(reason.message)]);
    if (reason instanceof RunnerError) {
      const status =
        reason.kind === 'retryable'
          ? ResultStatus.ERROR_AND_RETRY
          : reason.kind === 'fatal'
            ? ResultStatus.FATAL_ERROR
            : ResultStatus.OTHER_ERROR;
      // the message says what happened (exit code, stderr, HTTP status); extra items carry the runner's own output
      return finish(status, [text(reason.message), ...reason.output]);
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    options.logger.warn({ ...jobLogFields(job, worker), err: reason }, 'runner failed unexpectedly');
    return finish(ResultStatus.ERROR_AND_RETRY, [text(`runner error: ${message}`)]);
  } finally {
    cancelTimer?.();
    options.signal.removeEventListener('abort', onOuterAbort);
    const keep = reusable && !controller.signal.aborted;
    const giveBack = (held: RunnerLease): Promise<void> =>
      held
        .release(keep)
        .catch((err: unknown) => options.logger.warn({ ...jobLogFields(job, worker), err }, 'runner close failed'));
    if (lease !== undefined) await giveBack(lease);
    // aborted while the runner was still loading: it is given back (as unfit) once loaded
    else void acquiring.then(giveBack, () => undefined);
  }
}
