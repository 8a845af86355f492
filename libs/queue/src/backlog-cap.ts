/** The total backlog cap shared by the queue adapters (the per-channel cap has its own message in each). */
import { InvalidArgumentError, UnavailableError } from '../../core/src/index.js';

/** A total cap option checked: a positive integer, or no cap (Infinity) when not given. */
export function checkedTotalCap(maxPendingTotal: number | undefined): number {
  if (maxPendingTotal === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(maxPendingTotal) || maxPendingTotal < 1) {
    throw new InvalidArgumentError(`maxPendingTotal must be a positive integer, got ${maxPendingTotal}`);
  }
  return maxPendingTotal;
}

/** What Enqueue answers when the whole queue holds its total cap. */
export function queueFullError(maxPendingTotal: number): UnavailableError {
  return new UnavailableError(
    `the queue is full: ${maxPendingTotal} jobs are waiting or running across all channels; retry later, ` +
      'raise JOB_QUEUE_MAX_PENDING_TOTAL or add workers',
  );
}
