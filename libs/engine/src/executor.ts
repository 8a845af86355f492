/**
 * Runs one job with its runner: loads the worker's settings, runs with an AbortSignal that fires on the job's timeout
 * (in ms), on cancellation or on shutdown, and classifies how it ended. Never throws.
 */
import type { Job, Logger, Worker } from '../../core/src/index.js';
import { ResultStatus } from '../../core/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import { RunnerError } from '../../runners/src/index.js';
import { JobCancelledError, JobTimeoutError, ShutdownAbortError } from './abort-reasons.js';

export interface Outcome {
  /** SUCCESS, ERROR_AND_RETRY, FATAL_ERROR, OTHER_ERROR or CANCELLED; 'shutdown' = give the job back, no result */
  readonly status: ResultStatus | 'shutdown';
  readonly output: Uint8Array[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ExecuteOptions {
  /** aborted with JobCancelledError or ShutdownAbortError by the engine */
  readonly signal: AbortSignal;
  readonly now?: () => number;
  readonly logger: Logger;
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
  const timer =
    job.timeout > 0 ? setTimeout(() => controller.abort(new JobTimeoutError(job.timeout)), job.timeout) : undefined;

  const finish = (status: Outcome['status'], output: Uint8Array[]): Outcome => ({
    status,
    output,
    startTime,
    endTime: now(),
  });

  const runner = definition.create();
  try {
    const run = async (): Promise<Uint8Array[]> => {
      await runner.load(worker.runnerSettings);
      controller.signal.throwIfAborted();
      return runner.run(job.args, { signal: controller.signal, jobId: job.id, timeoutMs: job.timeout });
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
    options.logger.warn({ jobId: job.id, workerId: worker.id, err: reason }, 'runner failed unexpectedly');
    return finish(ResultStatus.ERROR_AND_RETRY, [text(`runner error: ${message}`)]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal.removeEventListener('abort', onOuterAbort);
    await runner.close?.().catch((err: unknown) => options.logger.warn({ err, jobId: job.id }, 'runner close failed'));
  }
}
