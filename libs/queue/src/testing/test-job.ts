import type { Job } from '../../../core/src/index.js';
import { Priority } from '../../../core/src/index.js';

/** A job for queue tests: id-derived args, medium priority, no uniq key; `overrides` replace any field. */
export function testJob(id: number, overrides: Partial<Job> = {}): Job {
  return {
    id,
    workerId: 1,
    args: new Uint8Array([1, 2, id % 256]),
    uniqKey: undefined,
    enqueueTime: 1_700_000_000_000 + id,
    grabbedUntilTime: undefined,
    runAfterTime: 0,
    retried: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
    ...overrides,
  };
}
