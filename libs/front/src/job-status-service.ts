import type { JobRestoreServiceServer, JobStatusServiceServer } from '../../proto/src/index.js';
import { InvalidArgumentError, jobToProto } from '../../core/src/index.js';
import { serverStream, unary } from './handlers.js';
import type { JobServicesDeps } from './job-context.js';

/** jobworkerp.service.JobStatusService: PENDING, RUNNING or WAIT_RESULT of unfinished jobs. */
export function jobStatusService({ lifecycle, logger }: JobServicesDeps): JobStatusServiceServer {
  return {
    find: unary('JobStatusService/Find', logger, async (req) => ({ status: await lifecycle.status(req.value) })),
    findAll: serverStream('JobStatusService/FindAll', logger, async function* () {
      for (const { jobId, status } of await lifecycle.statuses()) yield { id: { value: jobId }, status };
    }),
  };
}

/** jobworkerp.service.JobRestoreService: puts jobs backed up in the RDB (WITH_BACKUP) back into the queue. */
export function jobRestoreService({ storage, lifecycle, logger }: JobServicesDeps): JobRestoreServiceServer {
  return {
    restore: unary('JobRestoreService/Restore', logger, async (req) => {
      if (req.limit !== undefined && req.limit < 0) throw new InvalidArgumentError('limit must be >= 0');
      await lifecycle.restore(req.includeGrabbed ?? false, req.limit);
      return { isSuccess: true };
    }),
    findAll: serverStream('JobRestoreService/FindAll', logger, async function* (req) {
      const limit = req.limit ?? Number.MAX_SAFE_INTEGER;
      let afterId: number | undefined;
      let sent = 0;
      while (sent < limit) {
        const page = await storage.jobs.findRestorable({
          includeGrabbed: req.includeGrabbed ?? false,
          now: Date.now(),
          afterId,
          limit: Math.min(1000, limit - sent),
        });
        for (const job of page) yield jobToProto(job);
        sent += page.length;
        if (page.length === 0) break;
        afterId = page[page.length - 1]?.id;
      }
    }),
  };
}
