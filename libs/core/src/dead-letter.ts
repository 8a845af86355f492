/**
 * Dead letters: jobs that ended in a failure someone should look at, kept with their last result so they can be
 * listed, requeued or purged. Which final statuses make one:
 * - always MAX_RETRY (retries used up) and FATAL_ERROR (the runner says retrying cannot help);
 * - per worker, also CANCELLED (JobService.Delete stopped it), OTHER_ERROR (it could not run: its runner is missing
 *   in the process, its output did not fit next_workers, its result could not be stored) and ABORT. Our runners never
 *   end a job with ABORT (a run stopped from outside is CANCELLED); the status exists on the wire, so a policy may
 *   name it and it is then kept like the others.
 */
import { InvalidArgumentError } from './errors.js';
import type { Page, Priority } from './model.js';
import { ResultStatus } from './model.js';

/** The statuses every worker keeps as dead letters (unless its dead letters are turned off). */
export const DEAD_LETTER_STATUSES: readonly ResultStatus[] = [ResultStatus.MAX_RETRY, ResultStatus.FATAL_ERROR];
/** The statuses a worker may keep on top of DEAD_LETTER_STATUSES. */
export const OPTIONAL_DEAD_LETTER_STATUSES: readonly ResultStatus[] = [
  ResultStatus.CANCELLED,
  ResultStatus.ABORT,
  ResultStatus.OTHER_ERROR,
];

export interface DeadLetter {
  readonly id: number;
  readonly jobId: number;
  readonly workerId: number;
  readonly workerName: string;
  readonly args: Uint8Array;
  readonly uniqKey: string | undefined;
  readonly priority: Priority;
  /** ms; 0 = no timeout */
  readonly timeout: number;
  readonly enqueueTime: number;
  readonly runAfterTime: number;
  readonly retried: number;
  readonly maxRetry: number;
  /** the last result's status and output */
  readonly status: ResultStatus;
  readonly output: readonly Uint8Array[];
  readonly startTime: number;
  readonly endTime: number;
  /** when the job was given up (epoch ms) */
  readonly diedAt: number;
  /** the job a requeue made of it; undefined until requeued */
  readonly requeuedJobId: number | undefined;
  readonly requeuedAt: number | undefined;
}

/** Which dead letters a list, count, requeue-all or purge means; every field narrows, none = all. */
export interface DeadLetterFilter {
  readonly workerId?: number | undefined;
  readonly statuses?: readonly ResultStatus[] | undefined;
  /** died at or after (epoch ms) */
  readonly diedFrom?: number | undefined;
  /** died before (epoch ms) */
  readonly diedBefore?: number | undefined;
  /** true: only requeued ones; false: only those not requeued yet */
  readonly requeued?: boolean | undefined;
}

export interface DeadLetterQuery extends DeadLetterFilter, Page {}

/** A worker's dead-letter options; a worker without one follows the configured default. */
export interface DeadLetterPolicy {
  readonly workerId: number;
  /** false: the worker's jobs never become dead letters */
  readonly enabled: boolean;
  /** kept on top of MAX_RETRY and FATAL_ERROR: some of CANCELLED, ABORT, OTHER_ERROR */
  readonly extraStatuses: readonly ResultStatus[];
}

const KNOWN_STATUSES = new Set<number>([...DEAD_LETTER_STATUSES, ...OPTIONAL_DEAD_LETTER_STATUSES]);

/** Checks a filter; InvalidArgumentError saying what to change. */
export function checkDeadLetterFilter(filter: DeadLetterFilter): void {
  for (const s of filter.statuses ?? []) {
    if (!KNOWN_STATUSES.has(s)) {
      throw new InvalidArgumentError(
        `status ${ResultStatus[s] ?? s} never makes a dead letter; filter by MAX_RETRY, FATAL_ERROR, CANCELLED, ABORT or OTHER_ERROR`,
      );
    }
  }
  for (const [name, t] of [
    ['died_from', filter.diedFrom],
    ['died_before', filter.diedBefore],
  ] as const) {
    if (t !== undefined && (!Number.isSafeInteger(t) || t < 0)) {
      throw new InvalidArgumentError(`${name} must be epoch milliseconds (a non-negative integer), got ${t}`);
    }
  }
  if (filter.diedFrom !== undefined && filter.diedBefore !== undefined && filter.diedFrom >= filter.diedBefore) {
    throw new InvalidArgumentError(
      `died_from (${filter.diedFrom}) must be earlier than died_before (${filter.diedBefore}): the time range is empty`,
    );
  }
  if (filter.workerId !== undefined && (!Number.isSafeInteger(filter.workerId) || filter.workerId <= 0)) {
    throw new InvalidArgumentError(`worker id must be a positive integer, got ${filter.workerId}`);
  }
}

/** Checks a policy's extra statuses; InvalidArgumentError naming the ones allowed. */
export function checkDeadLetterPolicy(policy: DeadLetterPolicy): void {
  for (const s of policy.extraStatuses) {
    if (!OPTIONAL_DEAD_LETTER_STATUSES.includes(s)) {
      throw new InvalidArgumentError(
        `extra status ${ResultStatus[s] ?? s} cannot be chosen: MAX_RETRY and FATAL_ERROR are always kept, and the extras are CANCELLED, ABORT and OTHER_ERROR`,
      );
    }
  }
}

/** Whether a final result of this status becomes a dead letter under the policy (undefined = the default). */
export function keepsDeadLetter(
  status: ResultStatus,
  policy: Pick<DeadLetterPolicy, 'enabled' | 'extraStatuses'>,
): boolean {
  if (!policy.enabled) return false;
  return DEAD_LETTER_STATUSES.includes(status) || policy.extraStatuses.includes(status);
}
