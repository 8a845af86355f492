import type { Priority } from '../../core/src/index.js';
import { InvalidArgumentError, Priority as Priorities } from '../../core/src/index.js';

/** The lane of a priority: 0 HIGH, 1 MEDIUM, 2 LOW (lanes are served in that order). */
export function laneOf(priority: Priority): 0 | 1 | 2 {
  if (priority > Priorities.PRIORITY_MEDIUM) return 0;
  if (priority < Priorities.PRIORITY_MEDIUM) return 2;
  return 1;
}

export function assertLeaseMs(leaseMs: number): void {
  if (!(leaseMs > 0)) throw new InvalidArgumentError(`leaseMs must be > 0, got ${leaseMs}`);
}
