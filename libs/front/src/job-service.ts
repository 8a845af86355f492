/**
 * jobworkerp.service.JobService: enqueue (and wait for DIRECT results), cancel, and look up unfinished jobs.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { TraceSpan } from '../../core/src/index.js';
import type { CreateJobResponse, JobRequest, JobServiceServer } from '../../proto/src/index.js';
import { jobToProto, ResponseType } from '../../core/src/index.js';
import { normalizePage } from '../../storage/src/index.js';
import { serverStream, unary } from './handlers.js';
import type { JobServicesDeps, WorkerResolver } from './job-context.js';
import { callSignal, endCallSpan, remainingMs, startCallSpan } from './job-context.js';
import { jobFromRequest } from './job-request.js';
import { createJobResponseBytes, preEncoded } from './pre-encoded-reply.js';

/** How long after the call's deadline a DIRECT wait gives up by itself (grpc-js cancels the call at the deadline). */
const DEADLINE_BACKSTOP_MS = 1000;

export function jobService(deps: JobServicesDeps, resolver: WorkerResolver): JobServiceServer {
  const { storage, lifecycle, bus, ids, logger, tracer } = deps;
  const name = (m: string): string => `JobService/${m}`;

  const enqueue = async (
    req: JobRequest,
    call: ServerUnaryCall<JobRequest, CreateJobResponse>,
    span: TraceSpan | undefined,
  ): Promise<CreateJobResponse> => {
    const { job, worker } = await jobFromRequest(req, resolver, ids, storage.capabilities, span?.context());
    span?.setAttributes({ 'jobworkerp.job.id': job.id, 'jobworkerp.worker.name': worker.name });
    if (worker.responseType !== ResponseType.DIRECT) {
      await lifecycle.enqueue(job, worker);
      return { id: { value: job.id }, result: undefined };
    }
    // DIRECT: wait for the final result, registered before the job can possibly finish
    const stopWaiting = new AbortController();
    const signal = AbortSignal.any([callSignal(call), stopWaiting.signal]);
    // the call's own deadline ends the wait (grpc-js cancels the call then); the wait's timer is only a backstop,
    // set a little later so the two never race to answer
    const waiting = bus.waitForJob(job.id, remainingMs(call) + DEADLINE_BACKSTOP_MS, signal);
    waiting.catch(() => undefined);
    try {
      await lifecycle.enqueue(job, worker);
    } catch (err) {
      stopWaiting.abort(err);
      throw err;
    }
    // the reply is framed around the result's bytes as they were published: nothing decoded, nothing encoded again
    const result = await waiting;
    return preEncoded<CreateJobResponse>(createJobResponseBytes(job.id, result.bytes));
  };

  return {
    enqueue: unary(name('Enqueue'), logger, async (req, call) => {
      if (tracer === undefined) return enqueue(req, call, undefined);
      const span = startCallSpan(tracer, 'jobworkerp.service.JobService', 'Enqueue', call.metadata);
      try {
        const res = await enqueue(req, call, span);
        endCallSpan(span, name('Enqueue'));
        return res;
      } catch (err) {
        endCallSpan(span, name('Enqueue'), err);
        throw err;
      }
    }),

    delete: unary(name('Delete'), logger, async (req) => {
      // isSuccess: the job was unfinished (finished here as CANCELLED, or stopped by whoever holds it)
      return { isSuccess: (await lifecycle.cancel(req.value)) !== 'not-found' };
    }),

    find: unary(name('Find'), logger, async (req) => {
      const job = await lifecycle.find(req.value);
      return { data: job === undefined ? undefined : jobToProto(job) };
    }),

    findList: serverStream(name('FindList'), logger, async function* (req) {
      // checked like the FindList calls served by the RDB: a negative limit or offset is refused, not sliced
      const { limit, offset } = normalizePage(req);
      const all = await lifecycle.statuses();
      for (const { jobId } of all.slice(offset, offset + limit)) {
        const job = await lifecycle.find(jobId);
        if (job !== undefined) yield jobToProto(job);
      }
    }),

    count: unary(name('Count'), logger, async () => ({ total: (await lifecycle.statuses()).length })),
  };
}
