/**
 * Turns a run's outcome into what happens next:
 * - ERROR_AND_RETRY with retries left: the retry is persisted as an RDB row due after the policy's delay (so no retry
 *   is ever lost, whatever its delay); the job stays PENDING.
 * - otherwise the result is final (ERROR_AND_RETRY without retries left becomes MAX_RETRY): a job_result row is stored
 *   per store_success/store_failure, then the result is published (kept for late listeners of LISTEN_AFTER jobs),
 *   the job's status, uniq_key and RDB row are released, a periodic job's next run is scheduled (unless it was
 *   cancelled), and on SUCCESS each output item becomes a job of each next worker.
 * Storing happens before publishing, so a listener that sees the publish can also find the stored row.
 */
import type { IdGenerator, Job, JobResult, Logger, Worker } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  checkBytesAgainstSchema,
  InvalidArgumentError,
  JobStatus,
  nextPeriodicRunTime,
  QueueType,
  ResponseType,
  ResultStatus,
  retryDelayMs,
  shouldRetry,
  encodeJobResult,
} from '../../core/src/index.js';
import type { JobRouter, JobStateStore, ResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';

/** The RDB operations the processor needs (libs/storage's JobRepository has them). */
export interface JobRowsForResults {
  upsert(job: Job): Promise<void>;
  delete(id: number): Promise<boolean>;
  rescheduleIfHeld(id: number, heldUntil: number, runAfterTime: number, retried: number): Promise<boolean>;
}

export interface ResultProcessorDeps {
  readonly rows: JobRowsForResults;
  readonly results: { insert(result: JobResult): Promise<void> };
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  readonly router: Pick<JobRouter, 'enqueue'>;
  readonly findWorker: (id: number) => Promise<Worker | undefined>;
  readonly findDefinition: (runnerId: number) => RunnerDefinition | undefined;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface RunRecord {
  readonly status: ResultStatus;
  readonly output: readonly Uint8Array[];
  readonly startTime: number;
  readonly endTime: number;
}

export class ResultProcessor {
  private readonly now: () => number;

  constructor(private readonly deps: ResultProcessorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Handles a finished run. `heldUntil` is the job's current RDB hold (grabbed_until_time) when it came from a row.
   * Returns 'retry' when the job will run again, 'final' otherwise.
   */
  async process(job: Job, worker: Worker, run: RunRecord, heldUntil: number | undefined): Promise<'retry' | 'final'> {
    const { state } = this.deps;
    let status = run.status;
    if (status === ResultStatus.ERROR_AND_RETRY) {
      const cancelled = await state.isCancelled(job.id);
      if (!cancelled && shouldRetry(worker.retryPolicy, job.retried)) {
        if (await this.persistRetry(job, worker, run, heldUntil)) {
          if (worker.storeFailure) await this.store(this.resultOf(job, worker, run, status));
          return 'retry';
        }
        status = ResultStatus.CANCELLED;
      } else {
        status = cancelled ? ResultStatus.CANCELLED : ResultStatus.MAX_RETRY;
      }
    }
    await this.finish(job, worker, this.resultOf(job, worker, run, status), heldUntil);
    return 'final';
  }

  /** A final result without a run (cancelled while pending, worker gone): released and published like any other. */
  async finishWithoutRun(job: Job, worker: Worker | undefined, status: ResultStatus, message: string): Promise<JobResult> {
    const now = this.now();
    const run: RunRecord = { status, output: [Buffer.from(message)], startTime: now, endTime: now };
    const result = this.resultOf(job, worker, run, status);
    await this.finish(job, worker, result, undefined);
    return result;
  }

  private async persistRetry(job: Job, worker: Worker, run: RunRecord, heldUntil: number | undefined): Promise<boolean> {
    const { rows, state } = this.deps;
    const runAfterTime = run.endTime + retryDelayMs(worker.retryPolicy, job.retried);
    const retried = job.retried + 1;
    if (heldUntil !== undefined) {
      // the row is ours while we hold it; if it is gone the job was deleted (cancelled) meanwhile
      if (!(await rows.rescheduleIfHeld(job.id, heldUntil, runAfterTime, retried))) return false;
    } else {
      await rows.upsert({ ...job, retried, runAfterTime, grabbedUntilTime: undefined });
      if (await state.isCancelled(job.id)) {
        await rows.delete(job.id);
        return false;
      }
    }
    await state.setStatus(job.id, JobStatus.PENDING);
    return true;
  }

  private async finish(job: Job, worker: Worker | undefined, result: JobResult, heldUntil: number | undefined): Promise<void> {
    const { rows, state, bus } = this.deps;
    const first = worker === undefined || !storesResult(worker, result.status) || (await this.store(result));

    let continues = false;
    if (worker !== undefined && worker.periodicInterval > 0 && result.status !== ResultStatus.CANCELLED && heldUntil !== undefined) {
      const next = nextPeriodicRunTime(job.runAfterTime, result.startTime, worker.periodicInterval, this.now());
      continues = (await state.isCancelled(job.id)) ? false : await rows.rescheduleIfHeld(job.id, heldUntil, next, 0);
    }
    if (continues) {
      await state.setStatus(job.id, JobStatus.PENDING);
    } else {
      if (worker === undefined || worker.queueType !== QueueType.NORMAL || job.grabbedUntilTime !== undefined || worker.periodicInterval > 0) {
        await rows.delete(job.id);
      }
      await state.deleteStatus(job.id);
      if (job.uniqKey !== undefined) await state.releaseUniqKey(job.uniqKey, job.id);
    }
    // a second delivery of this attempt (its first run's process died before the ack) already told everyone
    if (!first) return;
    // kept for late listeners (LISTEN_AFTER) and for DIRECT waiters in other processes whose subscription may still
    // be on its way
    await bus.publish(result, { keep: worker?.responseType !== ResponseType.NO_RESULT });
    if (worker !== undefined && result.status === ResultStatus.SUCCESS) await this.enqueueNextWorkers(job, worker, result);
  }

  /**
   * Stores a result; false when this attempt of the job already has one (a job delivered again after its process
   * died between storing and acking), so the attempt keeps exactly one result.
   */
  private async store(result: JobResult): Promise<boolean> {
    try {
      await this.deps.results.insert(result);
      return true;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      this.deps.logger.info({ jobId: result.jobId, retried: result.retried }, 'this attempt already has a result; not stored again');
      return false;
    }
  }

  private async enqueueNextWorkers(job: Job, worker: Worker, result: JobResult): Promise<void> {
    for (const nextId of worker.nextWorkers) {
      const next = await this.deps.findWorker(nextId);
      if (next === undefined) {
        this.deps.logger.warn({ jobId: job.id, nextWorkerId: nextId }, 'next worker no longer exists; skipped');
        continue;
      }
      const definition = this.deps.findDefinition(next.runnerId);
      const wholeResult = definition?.usesJobResultAsArgs === true;
      const argsList = wholeResult ? [encodeJobResult(result)] : result.output;
      for (const args of argsList) {
        const child: Job = {
          id: this.deps.ids.next(),
          workerId: next.id,
          args,
          uniqKey: undefined,
          enqueueTime: this.now(),
          grabbedUntilTime: undefined,
          runAfterTime: 0,
          retried: 0,
          priority: job.priority,
          timeout: job.timeout,
        };
        const unfit = wholeResult ? undefined : unfitArgs(definition, args, job, worker, next);
        try {
          // output that is not an args message of the next runner fails the chained job, saying why, unrun
          if (unfit !== undefined) await this.finishWithoutRun(child, next, ResultStatus.FATAL_ERROR, unfit);
          else await this.deps.router.enqueue(child, next);
        } catch (err) {
          this.deps.logger.error({ err, jobId: job.id, nextWorkerId: nextId }, 'could not enqueue the next worker');
        }
      }
    }
  }

  /** The result of a run; a job whose worker is gone gets neutral worker fields (nothing stored, nothing kept). */
  private resultOf(job: Job, worker: Worker | undefined, run: RunRecord, status: ResultStatus): JobResult {
    return {
      id: this.deps.ids.next(),
      jobId: job.id,
      workerId: job.workerId,
      workerName: worker?.name ?? '',
      args: job.args,
      uniqKey: job.uniqKey,
      status,
      output: run.output,
      retried: job.retried,
      maxRetry: worker?.retryPolicy.maxRetry ?? 0,
      priority: job.priority,
      timeout: job.timeout,
      enqueueTime: job.enqueueTime,
      runAfterTime: job.runAfterTime,
      startTime: run.startTime,
      endTime: run.endTime,
      responseType: worker?.responseType ?? ResponseType.NO_RESULT,
      storeSuccess: worker?.storeSuccess ?? false,
      storeFailure: worker?.storeFailure ?? false,
    };
  }
}


/**
 * Why an output item of `job` cannot be the args of a job of `next` (undefined when it can): the bytes are passed on
 * as they are, so they must be a valid args message of the next worker's runner.
 */
function unfitArgs(definition: RunnerDefinition | undefined, args: Uint8Array, job: Job, worker: Worker, next: Worker): string | undefined {
  if (definition === undefined) return undefined;
  try {
    checkBytesAgainstSchema(definition.argsProto, args, `the output bytes of job ${job.id} (worker "${worker.name}")`);
    return undefined;
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    return `next_workers: ${err.message}, so it cannot be the args of worker "${next.name}" (runner ${definition.name})`;
  }
}

function storesResult(worker: Worker, status: ResultStatus): boolean {
  return status === ResultStatus.SUCCESS ? worker.storeSuccess : worker.storeFailure;
}
