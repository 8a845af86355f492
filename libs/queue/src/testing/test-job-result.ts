import type { JobResult } from '../../../core/src/index.js';
import { Priority, ResponseType, ResultStatus } from '../../../core/src/index.js';

/** A successful final result of job `jobId` run by worker `workerId`; `overrides` replace any field. */
export function testJobResult(jobId: number, workerId: number, overrides: Partial<JobResult> = {}): JobResult {
  return {
    id: jobId * 10,
    jobId,
    workerId,
    workerName: `worker-${workerId}`,
    args: new Uint8Array([jobId % 256]),
    uniqKey: undefined,
    status: ResultStatus.SUCCESS,
    output: [new Uint8Array([7, jobId % 256])],
    retried: 0,
    maxRetry: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
    enqueueTime: 1_700_000_000_000,
    runAfterTime: 0,
    startTime: 1_700_000_000_010,
    endTime: 1_700_000_000_020,
    responseType: ResponseType.DIRECT,
    storeSuccess: false,
    storeFailure: false,
    ...overrides,
  };
}
