/**
 * The cron schedules of a process: every process that has the RDB (all-in-one, grpc-front, worker) runs a Scheduler,
 * and the ticks are claimed in the RDB, so each fires once across the cluster whatever the number of processes.
 * With CRON_FILE set, the process also loads that file at start and keeps its schedules in sync with it.
 */
import type { Job, Worker } from '../../libs/core/src/index.js';
import { TtlCache } from '../../libs/core/src/index.js';
import { CronFileWatcher, Scheduler } from '../../libs/engine/src/index.js';
import type { JobNode } from './job-node.js';

export interface Scheduling {
  /** looks at the schedules again at once (one was created or changed in this process) */
  wake(): void;
  stop(): Promise<void>;
}

/** Loads the cron file (failing the start when it cannot be read) and starts the scheduler. */
export async function startScheduling(node: JobNode): Promise<Scheduling> {
  const { config, storage, jobs, lifecycle, logger } = node;
  const byId = new TtlCache<number, Worker>((id) => storage.workers.find(id), 1000);
  const byName = new TtlCache<string, Worker>((name) => storage.workers.findByName(name), 1000);
  // how a tick becomes a job: the lifecycle's enqueue, as Enqueue does
  const enqueue = (job: Job, worker: Worker): Promise<unknown> => lifecycle.enqueue(job, worker);
  const scheduler = new Scheduler({
    schedules: storage.schedules,
    findWorker: async (ref) =>
      ref.workerName !== undefined
        ? byName.get(ref.workerName)
        : ref.workerId === undefined
          ? undefined
          : byId.get(ref.workerId),
    enqueue,
    ids: jobs.ids,
    isUnfinished: async (jobId) => (await lifecycle.status(jobId)) !== undefined,
    logger: logger.child({ component: 'scheduler' }),
  });
  const cronFile = config.schedules.cronFile;
  const watcher =
    cronFile === undefined
      ? undefined
      : new CronFileWatcher(
          { path: cronFile },
          {
            schedules: storage.schedules,
            findWorkerByName: (name) => storage.workers.findByName(name),
            findRunner: (id) => storage.runners.find(id),
            logger,
            onChanged: () => scheduler.wake(),
          },
        );
  await watcher?.load();
  watcher?.start();
  scheduler.start();
  return {
    wake: () => scheduler.wake(),
    stop: async () => {
      await Promise.all([watcher?.stop(), scheduler.stop()]);
    },
  };
}
