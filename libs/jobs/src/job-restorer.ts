/**
 * Puts jobs that are backed up in the RDB (WITH_BACKUP rows with run_after_time 0) back into the queue, for
 * JobRestoreService.Restore and STORAGE_RESTORE_AT_STARTUP. Reads the RDB page by page (by id) and asks the queue
 * about each job, so it never scans whole queue lists. Jobs already queued or running are left alone.
 */
import type { Job, Logger, Worker } from '../../core/src/index.js';
import { JobStatus } from '../../core/src/index.js';
import { jobLogFields } from './job-log.js';
import { channelOf } from './job-router.js';
import type { JobQueue, JobStateStore } from '../../queue/src/index.js';

export interface JobRestorerDeps {
  readonly rows: {
    findRestorable(query: {
      includeGrabbed: boolean;
      now: number;
      afterId?: number | undefined;
      limit: number;
    }): Promise<Job[]>;
    list(page: { limit: number; offset: number }): Promise<Job[]>;
  };
  readonly findWorker: (id: number) => Promise<Worker | undefined>;
  readonly queue: Pick<JobQueue, 'enqueue' | 'status'>;
  readonly state: JobStateStore;
  readonly logger: Logger;
}

const PAGE = 1000;

/** Re-queues backed-up jobs; returns how many were queued. */
export async function restoreBackedUpJobs(
  deps: JobRestorerDeps,
  options: { includeGrabbed: boolean; limit?: number | undefined },
): Promise<number> {
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  let restored = 0;
  let afterId: number | undefined;
  while (restored < limit) {
    const page = await deps.rows.findRestorable({
      includeGrabbed: options.includeGrabbed,
      now: Date.now(),
      afterId,
      limit: PAGE,
    });
    if (page.length === 0) break;
    afterId = page[page.length - 1]?.id;
    for (const job of page) {
      if (restored >= limit) break;
      // waiting or claimed already (the queue holds the status of its jobs)
      if ((await deps.queue.status(job.id)) !== undefined) continue;
      const worker = await deps.findWorker(job.workerId);
      if (worker === undefined) {
        deps.logger.warn(jobLogFields(job, undefined), 'backed-up job of a deleted worker: not restored');
        continue;
      }
      await deps.queue.enqueue(job, channelOf(worker));
      restored += 1;
    }
  }
  if (restored > 0) deps.logger.info({ restored }, 'restored backed-up jobs into the queue');
  return restored;
}

/**
 * After a restart of a process whose JobStateStore lives in memory: marks every job that has an RDB row PENDING and
 * reserves its uniq_key again, so statuses and uniqueness hold for jobs that survived the restart.
 */
export async function rebuildJobState(deps: Pick<JobRestorerDeps, 'rows' | 'state'>): Promise<number> {
  let offset = 0;
  for (;;) {
    const page = await deps.rows.list({ limit: PAGE, offset });
    for (const job of page) {
      await deps.state.setStatus(job.id, JobStatus.PENDING);
      if (job.uniqKey !== undefined) await deps.state.acquireUniqKey(job.uniqKey, job.id);
    }
    offset += page.length;
    if (page.length < PAGE) return offset;
  }
}
