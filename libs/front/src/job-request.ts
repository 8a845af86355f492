/**
 * A JobRequest turned into a Job: the checks every way of enqueueing shares (JobService.Enqueue and
 * JobBatchService), so a job is accepted or refused the same whichever call brings it.
 */
import type { IdGenerator, Job, TraceContext, Worker } from '../../core/src/index.js';
import {
  checkBytesAgainstSchema,
  checkMaxBytes,
  checkMaxChars,
  InvalidArgumentError,
  MAX_UNIQ_KEY_CHARS,
  Priority,
  ResponseType,
} from '../../core/src/index.js';
import type { JobRequest } from '../../proto/src/index.js';
import type { StorageCapabilities } from '../../storage/src/index.js';
import type { WorkerResolver } from './job-context.js';

const PRIORITIES = new Set<number>([Priority.PRIORITY_HIGH, Priority.PRIORITY_MEDIUM, Priority.PRIORITY_LOW]);

/**
 * The job a request asks for, with a new id, and its worker; throws NOT_FOUND / INVALID_ARGUMENT errors. `storage`
 * bounds the args to what its job and result rows can hold; `trace` is the context of the call's span, when tracing.
 */
export async function jobFromRequest(
  req: JobRequest,
  resolver: WorkerResolver,
  ids: IdGenerator,
  storage: StorageCapabilities,
  trace?: TraceContext,
): Promise<{ readonly job: Job; readonly worker: Worker }> {
  const worker = await resolver.resolve(req);
  const runAfterTime = req.runAfterTime ?? 0;
  if (runAfterTime < 0) throw new InvalidArgumentError('run_after_time must be epoch milliseconds (or 0 for now)');
  if (worker.responseType === ResponseType.DIRECT && runAfterTime > 0) {
    throw new InvalidArgumentError(
      `worker "${worker.name}" is DIRECT, which runs jobs at once: remove run_after_time, or use a NO_RESULT or LISTEN_AFTER worker`,
    );
  }
  const priority = req.priority ?? Priority.PRIORITY_MEDIUM;
  if (!PRIORITIES.has(priority)) {
    throw new InvalidArgumentError(
      `priority ${priority} is unknown; use PRIORITY_HIGH, PRIORITY_MEDIUM or PRIORITY_LOW`,
    );
  }
  const uniqKey = req.uniqKey === undefined || req.uniqKey === '' ? undefined : req.uniqKey;
  if (uniqKey !== undefined) checkMaxChars(uniqKey, MAX_UNIQ_KEY_CHARS, 'uniq_key');
  checkMaxBytes(req.args, storage.maxArgsBytes, 'args', `what the ${storage.dialect} database can store`);
  const runner = await resolver.runner(worker.runnerId);
  if (runner !== undefined) checkBytesAgainstSchema(runner.argsProto, req.args, `args for worker "${worker.name}"`);
  const job: Job = {
    id: ids.next(),
    workerId: worker.id,
    args: req.args,
    uniqKey,
    enqueueTime: Date.now(),
    grabbedUntilTime: undefined,
    runAfterTime,
    retried: 0,
    priority,
    timeout: req.timeout ?? 0,
    trace,
  };
  return { job, worker };
}
