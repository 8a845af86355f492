/**
 * jobworkerp.service.JobResultService: stored results, and listening for results as they are produced.
 * Listen never misses a result: it registers its waiter first, then looks at stored results.
 */
import type { JobResult as JobResultMessage, JobResultServiceServer } from '../../proto/src/index.js';
import type { EncodedJobResult } from '../../core/src/index.js';
import { InvalidArgumentError, isFinalStatus, jobResultToProto, ResponseType } from '../../core/src/index.js';
import { serverStream, unary } from './handlers.js';
import type { JobServicesDeps, WorkerResolver } from './job-context.js';
import { callSignal, remainingMs } from './job-context.js';
import { preEncoded } from './pre-encoded-reply.js';

/** Listen waits this long when the request gives no timeout. */
const DEFAULT_LISTEN_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export function jobResultService(deps: JobServicesDeps, resolver: WorkerResolver): JobResultServiceServer {
  const { storage, lifecycle, bus, logger } = deps;
  const name = (m: string): string => `JobResultService/${m}`;

  return {
    delete: unary(name('Delete'), logger, async (req) => ({ isSuccess: await storage.results.delete(req.value) })),
    find: unary(name('Find'), logger, async (req) => {
      const r = await storage.results.find(req.value);
      return { data: r === undefined ? undefined : jobResultToProto(r) };
    }),
    findList: serverStream(name('FindList'), logger, async function* (req) {
      for (const r of await storage.results.list(req)) yield jobResultToProto(r);
    }),
    findListByJobId: serverStream(name('FindListByJobId'), logger, async function* (req) {
      if (req.jobId === undefined) throw new InvalidArgumentError('job_id is required');
      for (const r of await storage.results.listByJobId(req.jobId.value)) yield jobResultToProto(r);
    }),
    count: unary(name('Count'), logger, async () => ({ total: await storage.results.count() })),

    listen: unary(name('Listen'), logger, async (req, call) => {
      if (req.jobId === undefined) throw new InvalidArgumentError('job_id is required');
      const jobId = req.jobId.value;
      const worker = await resolver.resolve(req);
      if (worker.responseType !== ResponseType.LISTEN_AFTER) {
        throw new InvalidArgumentError(
          `worker "${worker.name}" is not LISTEN_AFTER; only LISTEN_AFTER workers keep results for Listen`,
        );
      }
      const timeoutMs = Math.min(req.timeout ?? DEFAULT_LISTEN_TIMEOUT_MS, remainingMs(call));
      const stop = new AbortController();
      const waiting = bus.waitForJob(jobId, timeoutMs, AbortSignal.any([callSignal(call), stop.signal]));
      waiting.catch(() => undefined);
      // results older than the bus remembers (or from before a restart) are in the RDB
      const stored = await storage.results.findLatestByJobId(jobId);
      if (stored !== undefined && isFinalStatus(stored.status) && (await lifecycle.status(jobId)) === undefined) {
        stop.abort(new Error('found a stored result'));
        return jobResultToProto(stored);
      }
      // a published result goes out as the bytes its worker encoded
      return preEncoded<JobResultMessage>((await waiting).bytes);
    }),

    listenStreamByWorker: serverStream(name('ListenStreamByWorker'), logger, async function* (req, signal) {
      const worker = await resolver.resolve(req);
      if (worker.responseType === ResponseType.DIRECT) {
        throw new InvalidArgumentError(
          `worker "${worker.name}" is DIRECT: its results go only to the caller of Enqueue`,
        );
      }
      const pending: EncodedJobResult[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = await bus.subscribeWorker(worker.id, (r) => {
        pending.push(r);
        wake?.();
      });
      const onAbort = (): void => wake?.();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          const next = pending.shift();
          if (next !== undefined) {
            yield preEncoded<JobResultMessage>(next.bytes);
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        await unsubscribe();
      }
    }),
  };
}
