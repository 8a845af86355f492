/**
 * GET /sys_info in poulpe's shape, filled from the system status and the unfinished jobs of the API's workers:
 * - `working_keys`: `task-<id>` of tasks queued to run now or running;
 * - `delaying_keys`: `task-<id> <due epoch seconds>` of tasks whose `delay` has not passed;
 * - `wronging_keys`: `task-<id>` of tasks that failed and wait for their next retry (poulpe listed the working set
 *   again here);
 * - `channel_sizes`: jobs waiting per channel (poulpe: per worker thread);
 * - `status`: the whole system status (processes, channels, delayed and periodic jobs, dead letters, schedules);
 * - `truncated`: true when there were more unfinished jobs than one answer looks at (MAX_SCANNED_JOBS).
 */
import type { Job } from '../../../../core/src/index.js';
import type { JobLifecycle, SystemStatusReader } from '../../../../jobs/src/index.js';
import type { PoulpeWorkers } from './poulpe-workers.js';

/** The most unfinished jobs one sys_info looks at. */
export const MAX_SCANNED_JOBS = 10_000;
/** Jobs looked up at once. */
const LOOKUP_BATCH = 64;

export interface PoulpeSysInfo {
  readonly working_keys: string[];
  readonly delaying_keys: string[];
  readonly wronging_keys: string[];
  readonly channel_sizes: Record<string, number>;
  readonly truncated: boolean;
  readonly status: unknown;
}

export async function poulpeSysInfo(
  deps: {
    readonly lifecycle: Pick<JobLifecycle, 'statuses' | 'find'>;
    readonly status: Pick<SystemStatusReader, 'read'>;
  },
  workers: Pick<PoulpeWorkers, 'workerIds'>,
): Promise<PoulpeSysInfo> {
  const [status, unfinished] = await Promise.all([deps.status.read(), deps.lifecycle.statuses()]);
  const ours = workers.workerIds();
  const scanned = unfinished.slice(0, MAX_SCANNED_JOBS);
  const jobs: Job[] = [];
  for (let i = 0; i < scanned.length; i += LOOKUP_BATCH) {
    const batch = await Promise.all(scanned.slice(i, i + LOOKUP_BATCH).map(({ jobId }) => deps.lifecycle.find(jobId)));
    for (const job of batch)
      if (job !== undefined && ours.has(job.workerId) && job.uniqKey !== undefined) jobs.push(job);
  }
  const now = status.time;
  const working: string[] = [];
  const delaying: string[] = [];
  const wronging: string[] = [];
  for (const job of jobs) {
    const key = `task-${job.uniqKey ?? ''}`;
    if (job.retried > 0 && job.runAfterTime > now) wronging.push(key);
    else if (job.runAfterTime > now) delaying.push(`${key} ${Math.ceil(job.runAfterTime / 1000)}`);
    else working.push(key);
  }
  const channelSizes: Record<string, number> = {};
  for (const channel of status.channels) channelSizes[channel.channel] = channel.waiting;
  return {
    working_keys: working,
    delaying_keys: delaying,
    wronging_keys: wronging,
    channel_sizes: channelSizes,
    truncated: unfinished.length > scanned.length,
    status,
  };
}
