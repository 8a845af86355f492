/**
 * The fields every log line about a job carries, named the same everywhere:
 * - jobId: the job's id;
 * - workerId: its worker's id;
 * - worker: the worker's name (absent when the worker was deleted meanwhile);
 * - channel: the channel the job runs on (the worker's channel; absent when neither the worker nor the channel is
 *   known).
 * The object is built only where a line is written, so a job that logs nothing pays nothing for it.
 */
import type { Job, Worker } from '../../core/src/index.js';
import { channelOf } from './job-router.js';

export interface JobLogFields {
  readonly jobId: number;
  readonly workerId: number;
  readonly worker?: string;
  readonly channel?: string;
}

/**
 * The log fields of `job`, run by `worker` (undefined when it is gone); `channel` names the channel when the worker
 * is not known (a dispatcher knows its own).
 */
export function jobLogFields(
  job: Pick<Job, 'id' | 'workerId'>,
  worker: Pick<Worker, 'name' | 'channel'> | undefined,
  channel?: string,
): JobLogFields {
  if (worker !== undefined)
    return { jobId: job.id, workerId: job.workerId, worker: worker.name, channel: channelOf(worker) };
  return channel === undefined
    ? { jobId: job.id, workerId: job.workerId }
    : { jobId: job.id, workerId: job.workerId, channel };
}
