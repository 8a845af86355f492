import type { WorkerServiceServer } from '../../proto/src/index.js';
import type { Logger, Worker, WorkerSpec } from '../../core/src/index.js';
import {
  checkMaxBytes,
  InvalidArgumentError,
  NotFoundError,
  validateWorker,
  workerSpecFromProto,
  workerToProto,
} from '../../core/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import type { SettingsCheck } from '../../runners/src/index.js';
import { BUILTIN_SETTINGS_CHECKS } from '../../runners/src/index.js';
import { serverStream, unary } from './handlers.js';

export interface WorkerServiceDeps {
  readonly storage: Pick<Storage, 'runners' | 'workers' | 'capabilities'>;
  readonly fetchIntervalMs: number;
  readonly logger: Logger;
  /**
   * The settings check of a runner by id, when its definition offers one (plugins); built-in runners are checked by
   * type without it.
   */
  readonly settingsCheck?: (runnerId: number) => SettingsCheck | undefined;
  /** told after a worker is updated or deleted, so caches and static runner pools are dropped */
  readonly onWorkerChanged?: (workerId: number) => Promise<void>;
}

/** jobworkerp.service.WorkerService: create, change and look up workers. */
export function workerService(deps: WorkerServiceDeps): WorkerServiceServer {
  const { storage, logger } = deps;
  const name = (m: string): string => `WorkerService/${m}`;

  const checked = async (spec: WorkerSpec, selfId?: number): Promise<WorkerSpec> => {
    if (spec.runnerId <= 0)
      throw new InvalidArgumentError('runner_id is required; list runners with RunnerService.FindList');
    const runner = await storage.runners.find(spec.runnerId);
    if (runner === undefined) {
      throw new InvalidArgumentError(
        `runner_id ${spec.runnerId} does not exist; list runners with RunnerService.FindList`,
      );
    }
    const { maxArgsBytes, dialect } = storage.capabilities;
    checkMaxBytes(spec.runnerSettings, maxArgsBytes, 'runner_settings', `what the ${dialect} database can store`);
    validateWorker(spec, runner, { fetchIntervalMs: deps.fetchIntervalMs });
    const settingsCheck = deps.settingsCheck?.(runner.id) ?? BUILTIN_SETTINGS_CHECKS.get(runner.type);
    settingsCheck?.(spec.runnerSettings);
    for (const next of spec.nextWorkers) {
      if (next !== selfId && (await storage.workers.find(next)) === undefined) {
        throw new InvalidArgumentError(`next_workers contains worker ${next}, which does not exist`);
      }
    }
    return spec;
  };

  const changed = async (id: number): Promise<void> => {
    if (deps.onWorkerChanged !== undefined) await deps.onWorkerChanged(id);
  };

  return {
    create: unary(name('Create'), logger, async (req) => {
      const worker: Worker = await storage.workers.create(await checked(workerSpecFromProto(req)));
      logger.info({ workerId: worker.id, worker: worker.name }, 'worker created');
      return { id: { value: worker.id } };
    }),
    update: unary(name('Update'), logger, async (req) => {
      const id = req.id?.value;
      if (id === undefined) throw new InvalidArgumentError('worker id is required');
      if (req.data === undefined) throw new InvalidArgumentError('worker data is required');
      if ((await storage.workers.find(id)) === undefined) throw new NotFoundError(`worker ${id} does not exist`);
      const updated = await storage.workers.update(id, await checked(workerSpecFromProto(req.data), id));
      if (updated) await changed(id);
      return { isSuccess: updated };
    }),
    delete: unary(name('Delete'), logger, async (req) => {
      const deleted = await storage.workers.delete(req.value);
      if (deleted) await changed(req.value);
      return { isSuccess: deleted };
    }),
    find: unary(name('Find'), logger, async (req) => {
      const worker = await storage.workers.find(req.value);
      return { data: worker === undefined ? undefined : workerToProto(worker) };
    }),
    findByName: unary(name('FindByName'), logger, async (req) => {
      const worker = await storage.workers.findByName(req.name);
      return { data: worker === undefined ? undefined : workerToProto(worker) };
    }),
    findList: serverStream(name('FindList'), logger, async function* (req) {
      for (const worker of await storage.workers.list(req)) yield workerToProto(worker);
    }),
    count: unary(name('Count'), logger, async () => ({ total: await storage.workers.count() })),
  };
}
