/**
 * jobworkerp.ext.JobBatchService: many jobs per call, so a client does not pay a unary call per job.
 *
 * - EnqueueBatch takes up to MAX_BATCH_JOBS JobRequests and answers one outcome per job, in order.
 * - EnqueueStream reads JobRequests and answers one outcome per request, in the order they came; it keeps at most
 *   STREAM_WINDOW jobs in flight (reading pauses beyond that), and ends after the client ends its side.
 *
 * Each job gets exactly the checks of JobService.Enqueue (jobFromRequest) and fails alone: its outcome carries the
 * gRPC status code and message the unary call would have answered. Jobs of DIRECT workers are refused with
 * INVALID_ARGUMENT: their result is the answer of a JobService.Enqueue call, and nothing here waits for results.
 * Enqueues run concurrently, so a Redis queue sends them to Redis in batches.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { TraceContext, TraceSpan } from '../../core/src/index.js';
import { InvalidArgumentError, ResponseType } from '../../core/src/index.js';
import type { EnqueueOutcome, JobBatchServiceServer, JobRequest } from '../../proto/src/index.js';
import { toServiceError } from './grpc-errors.js';
import { unary } from './handlers.js';
import type { JobServicesDeps, WorkerResolver } from './job-context.js';
import { endCallSpan, startCallSpan } from './job-context.js';
import { jobFromRequest } from './job-request.js';

/** The most jobs one EnqueueBatch call may carry. */
export const MAX_BATCH_JOBS = 10_000;
/** How many jobs of one call are enqueued at once. */
const CONCURRENCY = 256;
/** How many jobs of one stream may wait for their outcome before reading pauses. */
const STREAM_WINDOW = 1024;

export function jobBatchService(deps: JobServicesDeps, resolver: WorkerResolver): JobBatchServiceServer {
  const { lifecycle, ids, logger, storage, tracer } = deps;
  const name = (m: string): string => `JobBatchService/${m}`;
  const SERVICE = 'jobworkerp.ext.JobBatchService';

  /** Enqueues one job; never rejects (a failure becomes the outcome). */
  const enqueueOne = async (
    req: JobRequest,
    method: string,
    trace: TraceContext | undefined,
  ): Promise<EnqueueOutcome> => {
    try {
      const { job, worker } = await jobFromRequest(req, resolver, ids, storage.capabilities, trace);
      if (worker.responseType === ResponseType.DIRECT) {
        throw new InvalidArgumentError(
          `worker "${worker.name}" is DIRECT: its jobs answer with their result, so enqueue them one by one with JobService.Enqueue`,
        );
      }
      await lifecycle.enqueue(job, worker);
      return { id: { value: job.id }, error: undefined };
    } catch (err) {
      const { code, details } = toServiceError(err, method, logger);
      return { id: undefined, error: { code, message: details } };
    }
  };

  return {
    enqueueBatch: unary(name('EnqueueBatch'), logger, async (req, call) => {
      if (req.jobs.length > MAX_BATCH_JOBS) {
        throw new InvalidArgumentError(
          `a batch holds at most ${MAX_BATCH_JOBS} jobs, this one ${req.jobs.length}: split it, or use EnqueueStream`,
        );
      }
      let cancelled = false;
      call.once('cancelled', () => (cancelled = true));
      const span = tracer === undefined ? undefined : startCallSpan(tracer, SERVICE, 'EnqueueBatch', call.metadata);
      const trace = span?.context();
      const outcomes = new Array<EnqueueOutcome>(req.jobs.length);
      let next = 0;
      const lane = async (): Promise<void> => {
        // a cancelled call starts no more jobs (its client will not learn their ids)
        for (let i = next++; i < req.jobs.length && !cancelled; i = next++) {
          outcomes[i] = await enqueueOne(req.jobs[i]!, name('EnqueueBatch'), trace);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, req.jobs.length) }, lane));
      if (span !== undefined) endBatchSpan(span, name('EnqueueBatch'), outcomes);
      return { outcomes };
    }),

    enqueueStream: (call) => {
      const span = tracer === undefined ? undefined : startCallSpan(tracer, SERVICE, 'EnqueueStream', call.metadata);
      const trace = span?.context();
      if (span !== undefined) {
        // the stream's span ends with the stream, however it ends
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          span.end();
        };
        call.once('finish', end);
        call.once('cancelled', end);
        call.once('error', end);
      }
      serveStream(call, (req) => enqueueOne(req, name('EnqueueStream'), trace));
    },
  };
}

/** A batch call's span: how many jobs it carried and how many were refused. */
function endBatchSpan(span: TraceSpan, method: string, outcomes: readonly (EnqueueOutcome | undefined)[]): void {
  let refused = 0;
  for (const outcome of outcomes) if (outcome?.error !== undefined) refused++;
  span.setAttributes({ 'jobworkerp.batch.jobs': outcomes.length, 'jobworkerp.batch.refused': refused });
  endCallSpan(span, method);
}

/** Answers each request of a bidi stream with its outcome, in order, with at most STREAM_WINDOW in flight. */
function serveStream(
  call: ServerDuplexStream<JobRequest, EnqueueOutcome>,
  handle: (req: JobRequest) => Promise<EnqueueOutcome>,
): void {
  const waiting: Array<Promise<EnqueueOutcome>> = [];
  let ended = false;
  let gone = false;
  let writing = false;

  const write = async (): Promise<void> => {
    if (writing) return;
    writing = true;
    try {
      for (let head = waiting[0]; head !== undefined && !gone; head = waiting[0]) {
        const outcome = await head;
        void waiting.shift();
        if (waiting.length < STREAM_WINDOW) call.resume();
        if (gone) return;
        if (!call.write(outcome)) await new Promise<void>((resolve) => call.once('drain', resolve));
      }
    } finally {
      writing = false;
    }
    if (ended && waiting.length === 0 && !gone) call.end();
  };

  call.on('data', (req: JobRequest) => {
    waiting.push(handle(req));
    if (waiting.length >= STREAM_WINDOW) call.pause();
    void write();
  });
  call.on('end', () => {
    ended = true;
    void write();
  });
  const leave = (): void => {
    gone = true;
    // a writer waiting for 'drain' would wait forever
    call.emit('drain');
  };
  call.on('cancelled', leave);
  call.on('error', leave);
}
