/**
 * Turns a run's outcome into what happens next:
 * - ERROR_AND_RETRY with retries left: the retry is persisted as an RDB row due after the policy's delay (so no retry
 *   is ever lost, whatever its delay); the job stays PENDING.
 * - otherwise the result is final (ERROR_AND_RETRY without retries left becomes MAX_RETRY): a job_result row is stored
 *   per store_success/store_failure, then the result is published (kept for late listeners of LISTEN_AFTER jobs),
 *   the job's status, uniq_key and RDB row are released, a periodic job's next run is scheduled (unless it was
 *   cancelled), and on SUCCESS each output item becomes a job of each next worker.
 * Storing happens before publishing, so a listener that sees the publish can also find the stored row.
 * A final failure (MAX_RETRY, FATAL_ERROR, per worker more) is also kept as a dead letter (dead-letters.ts), whatever
 * store_failure says, before the job is released.
 *
 * Poison jobs: when storing the result (or persisting a retry) fails for a reason that is not an outage — the
 * database refuses the row, or answers a ping while refusing it — the step is tried FINISH_ATTEMPTS times; then the
 * job ends with a final OTHER_ERROR result that says why (stored without args when possible, always published), its
 * uniq_key and row are released, and an error line is logged. An outage (the database does not answer) is thrown
 * instead: the claim stays unacked and the job is delivered again when its lease ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IdGenerator, Job, JobResult, Logger, TraceContext, Worker } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  checkBytesAgainstSchema,
  clip,
  coerceError,
  InvalidArgumentError,
  JobStatus,
  nextPeriodicRunTime,
  QueueType,
  ResponseType,
  ResultStatus,
  jitteredDelayMs,
  retryDelayMs,
  shouldRetry,
  encodeJobResult,
  EncodedJobResult,
  UnavailableError,
} from '../../core/src/index.js';
import type { ClaimedJob, Completion, JobQueue, JobStateStore, ResultBus } from '../../queue/src/index.js';
import type { JobEvents } from './job-events.js';
import type { JobRouter } from './job-router.js';
import { jobLogFields } from './job-log.js';
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
  /** keeps final failures as dead letters (DeadLetterKeeper); idempotent per attempt */
  readonly deadLetters?: { record(job: Job, worker: Worker | undefined, result: JobResult): Promise<boolean> };
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  /** ends claimed jobs: status, uniq_key, publish and ack in one step (see settle) */
  readonly queue: Pick<JobQueue, 'complete'>;
  readonly router: Pick<JobRouter, 'enqueue'>;
  readonly findWorker: (id: number) => Promise<Worker | undefined>;
  readonly findDefinition: (runnerId: number) => RunnerDefinition | undefined;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** Checks that the database answers (Storage.ping); tells an outage from a row the database refuses. */
  readonly pingStorage?: () => Promise<void>;
  /** Pause between tries of a finishing step that failed. @default 200 */
  readonly finishRetryMs?: number;
  /** RETRY_JITTER: retry delays are spread at random by this fraction, both ways (see jitteredDelayMs). @default 0 */
  readonly retryJitter?: number;
  /** the random source of the jitter. @default Math.random */
  readonly random?: () => number;
  /** told of retries, final results and dead letters */
  readonly events?: Pick<JobEvents, 'onRetry' | 'onFinished' | 'onDeadLetter'>;
  readonly now?: () => number;
}

/** How often a finishing step that fails for a reason other than an outage is tried before the job is given up. */
export const FINISH_ATTEMPTS = 3;

/** A finishing step failed for a reason that trying again does not fix: the job is poison. */
class PoisonError extends Error {
  constructor(
    readonly step: string,
    readonly failure: Error,
  ) {
    super(`${step} failed ${FINISH_ATTEMPTS} times: ${clip(failure.message)}`, { cause: failure });
  }
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
   * Handles a finished run. `heldUntil` is the job's current RDB hold (grabbed_until_time) when it came from a row;
   * `claim` is the queue claim the job ran under: it is completed here (see settle). `childTrace` is the trace context
   * next_workers jobs carry (the run's, when tracing). Returns 'retry' when the job will run again, 'final' otherwise.
   */
  async process(
    job: Job,
    worker: Worker,
    run: RunRecord,
    heldUntil: number | undefined,
    claim?: ClaimedJob,
    childTrace?: TraceContext,
  ): Promise<'retry' | 'final'> {
    const { state } = this.deps;
    let status = run.status;
    try {
      if (status === ResultStatus.ERROR_AND_RETRY) {
        const cancelled = await state.isCancelled(job.id);
        if (!cancelled && shouldRetry(worker.retryPolicy, job.retried)) {
          if (
            await this.tried('persisting the retry', job, worker, () => this.persistRetry(job, worker, run, heldUntil))
          ) {
            if (worker.storeFailure)
              await this.tried('storing the result', job, worker, () =>
                this.store(this.resultOf(job, worker, run, status), worker),
              );
            // the retry row holds the job now: PENDING, its uniq_key still held
            if (await this.settle(job, worker, claim, { continues: true })) {
              this.deps.events?.onRetry(worker.name);
              this.deps.logger.info(
                {
                  ...jobLogFields(job, worker),
                  retried: job.retried + 1,
                  retryInMs: retryDelayMs(worker.retryPolicy, job.retried),
                  reason: reasonOf(run.output),
                },
                'job failed; it runs again',
              );
            }
            return 'retry';
          }
          status = ResultStatus.CANCELLED;
        } else {
          status = cancelled ? ResultStatus.CANCELLED : ResultStatus.MAX_RETRY;
        }
      }
      await this.finish(job, worker, this.resultOf(job, worker, run, status), heldUntil, claim, childTrace);
    } catch (err) {
      if (!(err instanceof PoisonError)) throw err;
      // the status the job ended with before it turned poison, so its dead letter can say so
      await this.giveUp(job, worker, { ...run, status }, heldUntil, err, claim);
    }
    return 'final';
  }

  /**
   * Runs a finishing step, trying again after a pause when it fails; an outage is thrown at once (the job is
   * delivered again later), a failure that outlasts FINISH_ATTEMPTS tries becomes a PoisonError.
   */
  private async tried<T>(step: string, job: Job, worker: Worker | undefined, op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (thrown) {
        const err = coerceError(thrown);
        if (await this.isOutage(err)) throw err;
        this.deps.logger.warn({ ...jobLogFields(job, worker), err, step, attempt }, 'a finishing step failed');
        if (attempt >= FINISH_ATTEMPTS) throw new PoisonError(step, err);
        await sleep((this.deps.finishRetryMs ?? 200) * attempt);
      }
    }
  }

  /** An outage is an UnavailableError while the database does not answer a ping either. */
  private async isOutage(err: Error): Promise<boolean> {
    if (!(err instanceof UnavailableError)) return false;
    if (this.deps.pingStorage === undefined) return true;
    try {
      await this.deps.pingStorage();
      return false;
    } catch {
      return true;
    }
  }

  /**
   * Ends a poison job: a final OTHER_ERROR result saying why, stored without the args and uniq_key that may be what
   * the database refuses (not at all if even that fails), published, and the job released like any finished one.
   */
  private async giveUp(
    job: Job,
    worker: Worker,
    run: RunRecord,
    heldUntil: number | undefined,
    poison: PoisonError,
    claim: ClaimedJob | undefined,
  ): Promise<JobResult> {
    const message = `job ${job.id} could not be finished: ${poison.message}; it ends here without a stored result of its run`;
    this.deps.logger.error(
      { ...jobLogFields(job, worker), step: poison.step, err: poison.failure },
      `giving up a job whose result cannot be stored: ended with OTHER_ERROR, uniq_key released`,
    );
    const final = this.resultOf(
      job,
      worker,
      { ...run, status: ResultStatus.OTHER_ERROR, output: [Buffer.from(message)] },
      ResultStatus.OTHER_ERROR,
    );
    const slim: JobResult = { ...final, args: Buffer.alloc(0), uniqKey: undefined };
    const storeSlim = storesResult(worker, ResultStatus.OTHER_ERROR)
      ? (): Promise<boolean> =>
          this.store(slim, worker).catch((err: unknown) => {
            this.deps.logger.error(
              { ...jobLogFields(job, worker), err },
              'could not store the OTHER_ERROR result of a poison job either',
            );
            return true;
          })
      : undefined;
    await this.finish(job, worker, final, heldUntil, claim, undefined, storeSlim, run.status);
    return final;
  }

  /**
   * A final result without a run (cancelled while pending, worker gone): released and published like any other; a
   * job that came from a claim (`claim`) is completed in the queue.
   */
  async finishWithoutRun(
    job: Job,
    worker: Worker | undefined,
    status: ResultStatus,
    message: string,
    claim?: ClaimedJob,
  ): Promise<JobResult> {
    const now = this.now();
    const run: RunRecord = { status, output: [Buffer.from(message)], startTime: now, endTime: now };
    const result = this.resultOf(job, worker, run, status);
    try {
      await this.finish(job, worker, result, undefined, claim);
    } catch (err) {
      if (!(err instanceof PoisonError) || worker === undefined) throw err;
      return this.giveUp(job, worker, run, undefined, err, claim);
    }
    return result;
  }

  private async persistRetry(
    job: Job,
    worker: Worker,
    run: RunRecord,
    heldUntil: number | undefined,
  ): Promise<boolean> {
    const { rows, state } = this.deps;
    const delay = jitteredDelayMs(
      retryDelayMs(worker.retryPolicy, job.retried),
      this.deps.retryJitter ?? 0,
      this.deps.random,
    );
    const runAfterTime = run.endTime + delay;
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
    return true;
  }

  private async finish(
    job: Job,
    worker: Worker | undefined,
    result: JobResult,
    heldUntil: number | undefined,
    claim: ClaimedJob | undefined,
    /** the trace context of next_workers jobs */
    childTrace?: TraceContext,
    storeInstead?: () => Promise<boolean>,
    /** set when the job is given up as poison: the status it ended with before that */
    poisonedFrom?: ResultStatus,
  ): Promise<void> {
    const { rows, state } = this.deps;
    const first =
      worker === undefined ||
      !storesResult(worker, result.status) ||
      (await (
        storeInstead ?? (() => this.tried('storing the result', job, worker, () => this.store(result, worker)))
      )());
    // the result is final here; recorded before the job is released, so a re-delivery can still record it
    await this.recordDeadLetter(job, worker, result, poisonedFrom);

    let continues = false;
    if (
      worker !== undefined &&
      worker.periodicInterval > 0 &&
      result.status !== ResultStatus.CANCELLED &&
      heldUntil !== undefined
    ) {
      const next = nextPeriodicRunTime(job.runAfterTime, result.startTime, worker.periodicInterval, this.now());
      continues = (await state.isCancelled(job.id)) ? false : await rows.rescheduleIfHeld(job.id, heldUntil, next, 0);
    }
    if (
      !continues &&
      (worker === undefined ||
        worker.queueType !== QueueType.NORMAL ||
        job.grabbedUntilTime !== undefined ||
        worker.periodicInterval > 0)
    ) {
      await rows.delete(job.id);
    }
    // A claimed job is published by the same atomic step that acks it, so an earlier delivery of this attempt whose
    // result is already stored (its process died before that step) published nothing: publish now. A job without a
    // claim keeps the old rule: the delivery that stored the result told everyone.
    const publishes = claim !== undefined || first;
    const settled = await this.settle(job, worker, claim, {
      continues,
      uniqKey: job.uniqKey,
      // kept for late listeners (LISTEN_AFTER) and for DIRECT waiters in other processes whose subscription may
      // still be on its way
      result: publishes
        ? { encoded: EncodedJobResult.of(result), keep: worker?.responseType !== ResponseType.NO_RESULT }
        : undefined,
    });
    if (settled) {
      this.deps.events?.onFinished(worker?.name, result.status);
      this.logFinished(job, worker, result);
    }
    if (publishes && worker !== undefined && result.status === ResultStatus.SUCCESS)
      await this.enqueueNextWorkers(job, worker, result, childTrace);
  }

  /**
   * Where the job stands once this step is over: PENDING on its RDB row (`continues`), or gone (final: status
   * deleted, uniq_key freed), with its result published. A claimed job does all of it, and its ack, in one queue
   * step; a job without a claim (finished by a cancel, or brought from a row and cancelled) through the state store
   * and the result bus. False when the claim's lease had ended: nothing was done, the job runs again.
   */
  private async settle(
    job: Job,
    worker: Worker | undefined,
    claim: ClaimedJob | undefined,
    completion: Completion,
  ): Promise<boolean> {
    if (claim !== undefined) {
      if (!(await this.deps.queue.complete(claim, completion))) {
        this.deps.logger.warn(
          jobLogFields(job, worker),
          'the lease of this job ended before its result was handed on; the job runs again where it is claimed next',
        );
        return false;
      }
      return true;
    }
    const { state, bus } = this.deps;
    if (completion.continues) {
      await state.setStatus(job.id, JobStatus.PENDING);
    } else {
      await state.deleteStatus(job.id);
      if (completion.uniqKey !== undefined) await state.releaseUniqKey(completion.uniqKey, job.id);
    }
    if (completion.result !== undefined) await bus.publish(completion.result.encoded, { keep: completion.result.keep });
    return true;
  }

  /**
   * Keeps a final failure as a dead letter, tried like the other finishing steps (an outage is thrown and the job is
   * delivered again; the insert is idempotent per attempt). For a job given up as poison it is tried once, without
   * the args and with the poison message as output, under the status the job ended with (MAX_RETRY, say) when the
   * worker keeps that status, else as OTHER_ERROR; a failure is only logged: the job must end even then.
   */
  private async recordDeadLetter(
    job: Job,
    worker: Worker | undefined,
    result: JobResult,
    poisonedFrom: ResultStatus | undefined,
  ): Promise<void> {
    const keeper = this.deps.deadLetters;
    if (keeper === undefined) return;
    if (poisonedFrom === undefined) {
      if (await this.tried('recording the dead letter', job, worker, () => keeper.record(job, worker, result)))
        this.deps.events?.onDeadLetter(worker?.name);
      return;
    }
    const slim = { ...result, args: Buffer.alloc(0) };
    const asBefore = keeper.record(job, worker, { ...slim, status: poisonedFrom });
    await asBefore
      .then((recorded) => (recorded ? true : keeper.record(job, worker, slim)))
      .then((recorded) => {
        if (recorded) this.deps.events?.onDeadLetter(worker?.name);
      })
      .catch((err: unknown) => {
        this.deps.logger.error(
          { ...jobLogFields(job, worker), err },
          'could not record the dead letter of a poison job either',
        );
      });
  }

  /**
   * Stores a result; false when this attempt of the job already has one (a job delivered again after its process
   * died between storing and acking), so the attempt keeps exactly one result.
   */
  private async store(result: JobResult, worker: Worker | undefined): Promise<boolean> {
    try {
      await this.deps.results.insert(result);
      return true;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      this.deps.logger.info(
        { ...jobLogFields({ id: result.jobId, workerId: result.workerId }, worker), retried: result.retried },
        'this attempt already has a result; not stored again',
      );
      return false;
    }
  }

  private async enqueueNextWorkers(
    job: Job,
    worker: Worker,
    result: JobResult,
    trace: TraceContext | undefined,
  ): Promise<void> {
    for (const nextId of worker.nextWorkers) {
      const next = await this.deps.findWorker(nextId);
      if (next === undefined) {
        this.deps.logger.warn(
          { ...jobLogFields(job, worker), nextWorkerId: nextId },
          'next worker no longer exists; skipped',
        );
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
          trace,
        };
        const unfit = wholeResult ? undefined : unfitArgs(definition, args, job, worker, next);
        try {
          // output that is not an args message of the next runner fails the chained job, saying why, unrun
          if (unfit !== undefined) await this.finishWithoutRun(child, next, ResultStatus.FATAL_ERROR, unfit);
          else await this.deps.router.enqueue(child, next);
        } catch (err) {
          this.deps.logger.error(
            { ...jobLogFields(job, worker), err, nextWorkerId: nextId, nextJobId: child.id },
            'could not enqueue the next worker',
          );
        }
      }
    }
  }

  /**
   * One line per job that ended: a failure (FATAL_ERROR, MAX_RETRY, OTHER_ERROR, ABORT) is a warning, a cancelled job
   * info, a success debug (its fields are built only when debug lines are written).
   */
  private logFinished(job: Job, worker: Worker | undefined, result: JobResult): void {
    const { logger } = this.deps;
    const status = result.status;
    if (status === ResultStatus.SUCCESS) {
      if (logger.isLevelEnabled?.('debug') === false) return;
      logger.debug(
        { ...jobLogFields(job, worker), status: 'SUCCESS', retried: job.retried, durationMs: durationOf(result) },
        'job succeeded',
      );
      return;
    }
    const fields = {
      ...jobLogFields(job, worker),
      status: ResultStatus[status] ?? String(status),
      retried: job.retried,
      durationMs: durationOf(result),
      reason: reasonOf(result.output),
    };
    if (status === ResultStatus.CANCELLED) logger.info(fields, 'job cancelled');
    else logger.warn(fields, 'job failed');
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
function unfitArgs(
  definition: RunnerDefinition | undefined,
  args: Uint8Array,
  job: Job,
  worker: Worker,
  next: Worker,
): string | undefined {
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

/** The first output item of a failed run (the runner's message), clipped: what a log line says about why. */
function reasonOf(output: readonly Uint8Array[]): string | undefined {
  const first = output[0];
  if (first === undefined) return undefined;
  // a few hundred characters are kept: decoding more than the start of a large output is wasted work
  return clip(Buffer.from(first.buffer, first.byteOffset, Math.min(first.byteLength, 2048)).toString('utf8'));
}

function durationOf(result: Pick<JobResult, 'startTime' | 'endTime'>): number {
  return Math.max(0, result.endTime - result.startTime);
}
