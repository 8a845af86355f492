/**
 * jobworkerp.ext.DeadLetterService: the jobs kept after a final failure (see libs/jobs/src/dead-letters.ts), listed,
 * counted, found, requeued (one, or all a filter matches), purged, and each worker's dead-letter options.
 *
 * A worker given by name in a filter must exist (NOT_FOUND otherwise); to reach the dead letters of a deleted worker,
 * filter by its id. New args of a requeue are checked exactly as JobService.Enqueue checks args. A purge with an empty
 * filter and no age must say `all`, so a forgotten flag cannot wipe every dead letter.
 */
import type { DeadLetter, DeadLetterFilter, Logger } from '../../core/src/index.js';
import { checkBytesAgainstSchema, checkMaxBytes, InvalidArgumentError, NotFoundError } from '../../core/src/index.js';
import type { DeadLetterKeeper, EffectivePolicy } from '../../jobs/src/index.js';
import type * as pb from '../../proto/src/index.js';
import type { DeadLetterServiceServer } from '../../proto/src/index.js';
import type { StorageCapabilities } from '../../storage/src/index.js';
import { toServiceError } from './grpc-errors.js';
import { unary } from './handlers.js';
import type { WorkerResolver } from './job-context.js';

export interface DeadLetterServiceDeps {
  readonly deadLetters: Pick<
    DeadLetterKeeper,
    'list' | 'count' | 'find' | 'requeue' | 'requeueAll' | 'purge' | 'policyOf' | 'setPolicy' | 'resetPolicy'
  >;
  readonly capabilities: StorageCapabilities;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function deadLetterService(deps: DeadLetterServiceDeps, resolver: WorkerResolver): DeadLetterServiceServer {
  const { deadLetters, logger } = deps;
  const now = deps.now ?? Date.now;
  const name = (m: string): string => `DeadLetterService/${m}`;

  /** The filter in domain terms; a worker named must exist. */
  const filterOf = async (f: pb.DeadLetterFilter | undefined): Promise<DeadLetterFilter> => {
    if (f === undefined) return {};
    const workerId =
      f.workerId !== undefined
        ? f.workerId.value
        : f.workerName !== undefined && f.workerName !== ''
          ? (await resolver.resolve({ workerName: f.workerName })).id
          : undefined;
    return {
      workerId,
      statuses: f.statuses.length > 0 ? f.statuses : undefined,
      diedFrom: f.diedFrom,
      diedBefore: f.diedBefore,
      requeued: f.requeued,
    };
  };

  const workerOf = async (ref: { workerId?: { value: number } | undefined; workerName?: string | undefined }) =>
    resolver.resolve(ref);

  return {
    list: unary(name('List'), logger, async (req) => {
      if (req.limit !== undefined && req.limit < 0) {
        throw new InvalidArgumentError(`limit must be a non-negative integer, got ${req.limit}`);
      }
      const letters = await deadLetters.list({ ...(await filterOf(req.filter)), limit: req.limit, offset: req.offset });
      return { deadLetters: letters.map(deadLetterToProto) };
    }),

    count: unary(name('Count'), logger, async (req) => ({ total: await deadLetters.count(await filterOf(req)) })),

    find: unary(name('Find'), logger, async (req) => {
      const letter = await deadLetters.find(req.value);
      return { data: letter && deadLetterToProto(letter) };
    }),

    requeue: unary(name('Requeue'), logger, async (req) => {
      if (req.id === undefined) throw new InvalidArgumentError('give the dead letter id (id.value)');
      if (req.args !== undefined) {
        const letter = await deadLetters.find(req.id.value);
        if (letter === undefined) throw new NotFoundError(`dead letter ${req.id.value} does not exist`);
        const worker = await resolver.resolve({ workerId: { value: letter.workerId } });
        checkMaxBytes(
          req.args,
          deps.capabilities.maxArgsBytes,
          'args',
          `what the ${deps.capabilities.dialect} database can store`,
        );
        const runner = await resolver.runner(worker.runnerId);
        if (runner !== undefined)
          checkBytesAgainstSchema(runner.argsProto, req.args, `args for worker "${worker.name}"`);
      }
      return { jobId: { value: await deadLetters.requeue(req.id.value, req.args) } };
    }),

    requeueAll: unary(name('RequeueAll'), logger, async (req) => {
      if (req.limit !== undefined && req.limit < 0) {
        throw new InvalidArgumentError(`limit must be a non-negative integer, got ${req.limit}`);
      }
      const outcome = await deadLetters.requeueAll(await filterOf(req.filter), req.limit);
      return {
        requeued: outcome.requeued.map((r) => ({ id: { value: r.deadLetterId }, jobId: { value: r.jobId } })),
        failed: outcome.failed.map((f) => {
          const { code, details } = toServiceError(f.error, name('RequeueAll'), logger);
          return { id: { value: f.deadLetterId }, code, message: details };
        }),
      };
    }),

    purge: unary(name('Purge'), logger, async (req) => {
      const filter = await filterOf(req.filter);
      const narrowed = Object.values(filter).some((v) => v !== undefined) || req.olderThan !== undefined;
      if (!narrowed && !req.all) {
        throw new InvalidArgumentError(
          'purge needs a filter (worker, statuses, died_from/died_before, requeued) or older_than; set all=true to purge every dead letter',
        );
      }
      let diedBefore = filter.diedBefore;
      if (req.olderThan !== undefined) {
        const cut = Math.max(0, now() - req.olderThan);
        diedBefore = diedBefore === undefined ? cut : Math.min(diedBefore, cut);
      }
      return { deleted: await deadLetters.purge({ ...filter, diedBefore }) };
    }),

    getWorkerPolicy: unary(name('GetWorkerPolicy'), logger, async (req) =>
      policyToProto(await deadLetters.policyOf((await workerOf(req)).id)),
    ),

    setWorkerPolicy: unary(name('SetWorkerPolicy'), logger, async (req) => {
      const worker = await workerOf(req);
      await deadLetters.setPolicy({ workerId: worker.id, enabled: req.enabled, extraStatuses: req.extraStatuses });
      return policyToProto(await deadLetters.policyOf(worker.id));
    }),

    resetWorkerPolicy: unary(name('ResetWorkerPolicy'), logger, async (req) => {
      const worker = await workerOf(req);
      await deadLetters.resetPolicy(worker.id);
      return policyToProto(await deadLetters.policyOf(worker.id));
    }),
  };
}

export function deadLetterToProto(d: DeadLetter): pb.DeadLetter {
  return {
    id: { value: d.id },
    jobId: { value: d.jobId },
    workerId: { value: d.workerId },
    workerName: d.workerName,
    args: Buffer.from(d.args),
    uniqKey: d.uniqKey,
    priority: d.priority,
    timeout: d.timeout,
    enqueueTime: d.enqueueTime,
    runAfterTime: d.runAfterTime,
    retried: d.retried,
    maxRetry: d.maxRetry,
    status: d.status,
    output: { items: d.output.map((b) => Buffer.from(b)) },
    startTime: d.startTime,
    endTime: d.endTime,
    diedAt: d.diedAt,
    requeuedJobId: d.requeuedJobId === undefined ? undefined : { value: d.requeuedJobId },
    requeuedAt: d.requeuedAt,
  };
}

function policyToProto(p: EffectivePolicy): pb.DeadLetterPolicy {
  return { workerId: { value: p.workerId }, enabled: p.enabled, extraStatuses: [...p.extraStatuses], stored: p.stored };
}
