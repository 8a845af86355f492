/**
 * jobworkerp.service.JobService: enqueue (and wait for DIRECT results), cancel, and look up unfinished jobs.
 */
import type { CreateJobResponse, JobServiceServer } from '../../proto/src/index.js';
import type { Job } from '../../core/src/index.js';
import { jobToProto, ResponseType, ResultStatus } from '../../core/src/index.js';
import { normalizePage } from '../../storage/src/index.js';
import { serverStream, unary } from './handlers.js';
import type { JobServicesDeps, WorkerResolver } from './job-context.js';
import { callSignal, remainingMs } from './job-context.js';
import { jobFromRequest } from './job-request.js';
import { createJobResponseBytes, preEncoded } from './pre-encoded-reply.js';

export function jobService(deps: JobServicesDeps, resolver: WorkerResolver): JobServiceServer {
  const { storage, queue, state, bus, router, ids, logger } = deps;
  const name = (m: string): string => `JobService/${m}`;

  const findJob = async (id: number): Promise<Job | undefined> =>
    (await queue.find(id)) ?? (await storage.jobs.find(id));

  return {
    enqueue: unary(name('Enqueue'), logger, async (req, call) => {
      const { job, worker } = await jobFromRequest(req, resolver, ids, storage.capabilities);
      if (worker.responseType !== ResponseType.DIRECT) {
        await router.enqueue(job, worker);
        return { id: { value: job.id }, result: undefined };
      }
      // DIRECT: wait for the final result, registered before the job can possibly finish
      const stopWaiting = new AbortController();
      const signal = AbortSignal.any([callSignal(call), stopWaiting.signal]);
      const waiting = bus.waitForJob(job.id, remainingMs(call), signal);
      waiting.catch(() => undefined);
      try {
        await router.enqueue(job, worker);
      } catch (err) {
        stopWaiting.abort(err);
        throw err;
      }
      // the reply is framed around the result's bytes as they were published: nothing decoded, nothing encoded again
      const result = await waiting;
      return preEncoded<CreateJobResponse>(createJobResponseBytes(job.id, result.bytes));
    }),

    delete: unary(name('Delete'), logger, async (req) => {
      const id = req.value;
      const status = await state.getStatus(id);
      // first the mark, so an engine about to run the job (or running it) sees it
      await state.cancel(id, deps.resultExpireMs);
      const queued = await queue.find(id);
      const fromQueue = queued !== undefined && (await queue.remove(id));
      const row = await storage.jobs.find(id);
      const rowDeleted = row !== undefined && (await storage.jobs.delete(id));
      const rowHeld = row?.grabbedUntilTime !== undefined && row.grabbedUntilTime > Date.now();
      // a job nobody holds is finished here; a held or running one is finished by the engine that holds it
      const pending = fromQueue ? queued : rowDeleted && !rowHeld ? row : undefined;
      if (pending !== undefined) {
        const worker = await storage.workers.find(pending.workerId);
        await deps.finishWithoutRun(pending, worker, ResultStatus.CANCELLED, `job ${id} was cancelled before it ran`);
      }
      return { isSuccess: status !== undefined || fromQueue || rowDeleted };
    }),

    find: unary(name('Find'), logger, async (req) => {
      const job = await findJob(req.value);
      return { data: job === undefined ? undefined : jobToProto(job) };
    }),

    findList: serverStream(name('FindList'), logger, async function* (req) {
      // checked like the FindList calls served by the RDB: a negative limit or offset is refused, not sliced
      const { limit, offset } = normalizePage(req);
      const all = await state.listStatuses();
      for (const { jobId } of all.slice(offset, offset + limit)) {
        const job = await findJob(jobId);
        if (job !== undefined) yield jobToProto(job);
      }
    }),

    count: unary(name('Count'), logger, async () => ({ total: (await state.listStatuses()).length })),
  };
}
