/**
 * jobworkerp.ext.ScheduleService: create, change and look up cron schedules. A schedule is checked as a job of its
 * worker would be (the worker exists, the args fit its runner's schema, the priority and uniq_key are valid) and its
 * expression and time zone must name a time after now, so a bad schedule is refused here with INVALID_ARGUMENT or
 * NOT_FOUND rather than failing at each tick. Schedules of the cron file (origin file) change only with the file.
 */
import type { Logger, Schedule, ScheduleSpec } from '../../core/src/index.js';
import {
  checkBytesAgainstSchema,
  checkMaxBytes,
  checkMaxChars,
  CRON_FILE_NAME_PREFIX,
  InvalidArgumentError,
  MAX_UNIQ_KEY_CHARS,
  MAX_WORKER_NAME_CHARS,
  NotFoundError,
  parseCron,
  Priority,
  quote,
} from '../../core/src/index.js';
import type { Schedule as ScheduleMessage, ScheduleData, ScheduleServiceServer } from '../../proto/src/index.js';
import { MissedTickPolicy, OverlapPolicy, ScheduleOrigin } from '../../proto/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { serverStream, unary } from './handlers.js';
import type { WorkerResolver } from './job-context.js';

export interface ScheduleServiceDeps {
  readonly storage: Pick<Storage, 'schedules' | 'capabilities'>;
  readonly logger: Logger;
  /** told after a schedule was created, changed or deleted, so this process's scheduler looks again at once */
  readonly onScheduleChanged?: () => void;
  readonly now?: () => number;
}

const PRIORITIES = new Set<number>([Priority.PRIORITY_HIGH, Priority.PRIORITY_MEDIUM, Priority.PRIORITY_LOW]);
/** schedule.name: VARCHAR(128) */
const MAX_SCHEDULE_NAME_CHARS = 128;

export function scheduleService(deps: ScheduleServiceDeps, resolver: WorkerResolver): ScheduleServiceServer {
  const { storage, logger } = deps;
  const now = deps.now ?? Date.now;
  const name = (m: string): string => `ScheduleService/${m}`;
  const changed = (): void => deps.onScheduleChanged?.();

  /** The spec a request asks for and its first tick; throws INVALID_ARGUMENT / NOT_FOUND saying what to fix. */
  const checked = async (data: ScheduleData): Promise<{ spec: ScheduleSpec; nextTickTime: number }> => {
    if (data.name.trim() === '') throw new InvalidArgumentError('name is required: give the schedule a unique name');
    checkMaxChars(data.name, MAX_SCHEDULE_NAME_CHARS, 'name');
    if (data.name.startsWith(CRON_FILE_NAME_PREFIX)) {
      throw new InvalidArgumentError(
        `names starting with "${CRON_FILE_NAME_PREFIX}" belong to the cron file; pick another`,
      );
    }
    const ticks = parseCron(data.cron, data.timeZone);
    const nextTickTime = ticks.nextAfter(now());
    if (nextTickTime === undefined) {
      throw new InvalidArgumentError(
        `cron expression ${quote(ticks.expression)} names no time after now (a year in the past, or a day that never comes)`,
      );
    }
    if (data.workerName !== undefined) checkMaxChars(data.workerName, MAX_WORKER_NAME_CHARS, 'worker_name');
    const worker = await resolver.resolve(data);
    if (worker.periodicInterval > 0) {
      throw new InvalidArgumentError(
        `worker ${quote(worker.name)} is periodic (periodic_interval ${worker.periodicInterval} ms), so each job of it ` +
          'would start a series of its own: use a worker without periodic_interval',
      );
    }
    const { maxArgsBytes, dialect } = storage.capabilities;
    checkMaxBytes(data.args, maxArgsBytes, 'args', `what the ${dialect} database can store`);
    const runner = await resolver.runner(worker.runnerId);
    if (runner !== undefined)
      checkBytesAgainstSchema(runner.argsProto, data.args, `args for worker ${quote(worker.name)}`);
    if (!PRIORITIES.has(data.priority)) {
      throw new InvalidArgumentError(
        `priority ${data.priority} is unknown; use PRIORITY_HIGH, PRIORITY_MEDIUM or PRIORITY_LOW`,
      );
    }
    const uniqKey = data.uniqKey === undefined || data.uniqKey === '' ? undefined : data.uniqKey;
    if (uniqKey !== undefined) checkMaxChars(uniqKey, MAX_UNIQ_KEY_CHARS, 'uniq_key');
    if (!Number.isSafeInteger(data.timeout) || data.timeout < 0) {
      throw new InvalidArgumentError('timeout must be milliseconds (0 = none)');
    }
    const spec: ScheduleSpec = {
      name: data.name,
      cron: ticks.expression,
      timeZone: ticks.timeZone,
      // kept as given: a name is looked up again at each tick
      workerId: data.workerId !== undefined ? worker.id : undefined,
      workerName: data.workerId !== undefined ? undefined : worker.name,
      args: data.args,
      priority: data.priority,
      uniqKey,
      timeout: data.timeout,
      missedTick: missedTickOf(data.missedTick),
      overlap: overlapOf(data.overlap),
      origin: 'api',
    };
    return { spec, nextTickTime };
  };

  /** The API schedule with this id; NOT_FOUND, or INVALID_ARGUMENT for one of the cron file. */
  const own = async (id: number | undefined, verb: string): Promise<Schedule> => {
    if (id === undefined) throw new InvalidArgumentError('schedule id is required');
    const found = await storage.schedules.find(id);
    if (found === undefined) throw new NotFoundError(`schedule ${id} does not exist`);
    if (found.origin === 'file') {
      throw new InvalidArgumentError(
        `schedule ${id} comes from the cron file (CRON_FILE); to ${verb} it, edit that file`,
      );
    }
    return found;
  };

  return {
    create: unary(name('Create'), logger, async (req) => {
      const { spec, nextTickTime } = await checked(req);
      const created = await storage.schedules.create(spec, nextTickTime);
      logger.info({ scheduleId: created.id, schedule: created.name, cron: created.cron }, 'schedule created');
      changed();
      return { id: { value: created.id } };
    }),
    update: unary(name('Update'), logger, async (req) => {
      if (req.data === undefined) throw new InvalidArgumentError('schedule data is required');
      const before = await own(req.id?.value, 'change');
      const { spec, nextTickTime } = await checked(req.data);
      // the same expression keeps its next tick (one due now is not skipped by an update)
      const sameTicks = spec.cron === before.cron && spec.timeZone === before.timeZone && before.nextTickTime > 0;
      const updated = await storage.schedules.update(before.id, spec, sameTicks ? before.nextTickTime : nextTickTime);
      if (updated) changed();
      return { isSuccess: updated };
    }),
    delete: unary(name('Delete'), logger, async (req) => {
      const found = await storage.schedules.find(req.value);
      if (found === undefined) return { isSuccess: false };
      await own(req.value, 'delete');
      const deleted = await storage.schedules.delete(req.value);
      if (deleted) changed();
      return { isSuccess: deleted };
    }),
    find: unary(name('Find'), logger, async (req) => {
      const found = await storage.schedules.find(req.value);
      return { data: found === undefined ? undefined : scheduleToProto(found) };
    }),
    findByName: unary(name('FindByName'), logger, async (req) => {
      const found = await storage.schedules.findByName(req.name);
      return { data: found === undefined ? undefined : scheduleToProto(found) };
    }),
    findList: serverStream(name('FindList'), logger, async function* (req) {
      for (const s of await storage.schedules.list(req)) yield scheduleToProto(s);
    }),
    count: unary(name('Count'), logger, async () => ({ total: await storage.schedules.count() })),
  };
}

function missedTickOf(value: MissedTickPolicy): ScheduleSpec['missedTick'] {
  switch (value) {
    case MissedTickPolicy.MISSED_TICK_SKIP:
      return 'skip';
    case MissedTickPolicy.MISSED_TICK_RUN_ONCE:
      return 'run-once';
    default:
      throw new InvalidArgumentError(
        `missed_tick ${String(value)} is unknown; use MISSED_TICK_SKIP or MISSED_TICK_RUN_ONCE`,
      );
  }
}

function overlapOf(value: OverlapPolicy): ScheduleSpec['overlap'] {
  switch (value) {
    case OverlapPolicy.OVERLAP_ALLOW:
      return 'allow';
    case OverlapPolicy.OVERLAP_SKIP:
      return 'skip';
    default:
      throw new InvalidArgumentError(`overlap ${String(value)} is unknown; use OVERLAP_ALLOW or OVERLAP_SKIP`);
  }
}

export function scheduleToProto(s: Schedule): ScheduleMessage {
  return {
    id: { value: s.id },
    data: {
      name: s.name,
      cron: s.cron,
      timeZone: s.timeZone,
      workerId: s.workerId === undefined ? undefined : { value: s.workerId },
      workerName: s.workerName,
      args: Buffer.from(s.args),
      priority: s.priority,
      uniqKey: s.uniqKey,
      timeout: s.timeout,
      missedTick:
        s.missedTick === 'run-once' ? MissedTickPolicy.MISSED_TICK_RUN_ONCE : MissedTickPolicy.MISSED_TICK_SKIP,
      overlap: s.overlap === 'skip' ? OverlapPolicy.OVERLAP_SKIP : OverlapPolicy.OVERLAP_ALLOW,
    },
    origin: s.origin === 'file' ? ScheduleOrigin.SCHEDULE_ORIGIN_FILE : ScheduleOrigin.SCHEDULE_ORIGIN_API,
    nextTickTime: s.nextTickTime,
    lastTickTime: s.lastTickTime,
    lastJobId: s.lastJobId === undefined ? undefined : { value: s.lastJobId },
  };
}
