/**
 * What every jobworkerp process opens at start, in one place: the RDB (migrated, runners seeded), the job system of
 * the storage mode (queues, job state, result delivery, ids), and the runners it can run (built-ins and plugins,
 * whose runner rows it registers). Apps add an engine, a gRPC front or both.
 */
import type { Config } from '../../libs/config/src/index.js';
import type { Job, JobResult, Logger, ResultStatus, Worker } from '../../libs/core/src/index.js';
import { TtlCache } from '../../libs/core/src/index.js';
import { Engine } from '../../libs/engine/src/index.js';
import { ResultProcessor } from '../../libs/jobs/src/index.js';
import type { RunnerRegistry } from '../../libs/runners/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';
import type { JobSystem } from './job-system.js';
import { createJobSystem } from './job-system.js';
import { loadPluginRunners } from './plugins-from-config.js';
import { createRunnerRegistry } from './runners-from-config.js';
import { openConfiguredStorage } from './storage-from-config.js';

export interface JobNode {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly jobs: JobSystem;
  readonly registry: RunnerRegistry;
  /** closes what openJobNode opened (after engines and servers stopped) */
  close(): Promise<void>;
}

export async function openJobNode(config: Config, logger: Logger): Promise<JobNode> {
  const storage = await openConfiguredStorage(config);
  let jobs: JobSystem | undefined;
  try {
    jobs = await createJobSystem(config, storage, logger);
    const registry = createRunnerRegistry(config);
    const plugins = await loadPluginRunners(config, storage, logger, jobs.ids);
    for (const definition of plugins.definitions) registry.register(definition);
    const opened = jobs;
    return {
      config,
      logger,
      storage,
      jobs: opened,
      registry,
      close: async () => {
        await plugins.close();
        await opened.close();
        await storage.close();
      },
    };
  } catch (err) {
    await jobs?.close();
    await storage.close();
    throw err;
  }
}

/** The job engine of a process that runs jobs (all-in-one, worker). */
export function createEngine(node: JobNode): Engine {
  const { config, storage, jobs, registry, logger } = node;
  return new Engine(
    { channels: config.worker.channels, leaseMs: config.queue.leaseMs, fetchIntervalMs: config.queue.fetchIntervalMs },
    {
      storage,
      queue: jobs.queue,
      state: jobs.state,
      bus: jobs.bus,
      router: jobs.router,
      registry,
      ids: jobs.ids,
      logger,
      wake: jobs.wake,
    },
  );
}

/**
 * How a front without an engine finishes jobs that never ran (cancelled while pending): the same result processing
 * an engine does, so results are stored, published and released alike.
 */
export function frontFinisher(
  node: JobNode,
): (job: Job, worker: Worker | undefined, status: ResultStatus, message: string) => Promise<JobResult> {
  const { storage, jobs, registry, logger } = node;
  const workers = new TtlCache<number, Worker>((id) => storage.workers.find(id));
  const processor = new ResultProcessor({
    rows: storage.jobs,
    results: storage.results,
    state: jobs.state,
    bus: jobs.bus,
    router: jobs.router,
    findWorker: (id) => workers.get(id),
    findDefinition: (runnerId) => registry.get(runnerId),
    ids: jobs.ids,
    logger,
    pingStorage: () => storage.ping(),
  });
  return (job, worker, status, message) => processor.finishWithoutRun(job, worker, status, message);
}
