/**
 * The queue side of a process, picked from the storage mode: in-memory queue, job state and result bus for
 * Standalone. (Scalable mode brings Redis adapters of the same ports.)
 */
import type { Config } from '../../libs/config/src/index.js';
import type { IdGenerator, Logger, Worker } from '../../libs/core/src/index.js';
import { TimeOrderedIdGenerator, TtlCache } from '../../libs/core/src/index.js';
import type { JobQueue, JobStateStore, ResultBus } from '../../libs/queue/src/index.js';
import {
  JobRouter,
  MemoryJobStateStore,
  MemoryQueue,
  MemoryResultBus,
  rebuildJobState,
  restoreBackedUpJobs,
} from '../../libs/queue/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';

export interface JobSystem {
  readonly queue: JobQueue;
  readonly state: JobStateStore;
  readonly bus: ResultBus;
  readonly router: JobRouter;
  readonly ids: IdGenerator;
  /** re-queues WITH_BACKUP jobs from the RDB */
  restore(includeGrabbed: boolean, limit?: number): Promise<number>;
  /** after a start: rebuilds in-memory job state from the RDB and restores backed-up jobs */
  recover(): Promise<void>;
  /** wakes RDB pollers in this process (set by the engine's owner) */
  onDueRow: () => void;
  close(): Promise<void>;
}

export function createJobSystem(config: Config, storage: Storage, logger: Logger): JobSystem {
  if (config.storageType !== 'Standalone') {
    throw new Error('STORAGE_TYPE=Scalable needs the Redis queue, which this build does not include yet; use Standalone');
  }
  const queue = new MemoryQueue({ maxPendingPerChannel: config.queue.maxPendingPerChannel });
  const state = new MemoryJobStateStore();
  const bus = new MemoryResultBus({ keepMs: config.queue.expireJobResultMs });
  const workers = new TtlCache<number, Worker>((id) => storage.workers.find(id));
  const system: JobSystem = {
    queue,
    state,
    bus,
    ids: new TimeOrderedIdGenerator(),
    router: new JobRouter({ queue, rows: storage.jobs, state, onDueRow: () => system.onDueRow() }),
    onDueRow: () => undefined,
    restore: (includeGrabbed, limit) =>
      restoreBackedUpJobs(
        { rows: storage.jobs, findWorker: (id) => workers.get(id), queue, state, logger },
        { includeGrabbed, limit },
      ),
    recover: async () => {
      // the in-memory state starts empty: every RDB row is an unfinished job, and backed-up jobs go back in the queue
      await rebuildJobState({ rows: storage.jobs, state });
      await system.restore(true);
    },
    close: async () => {
      await Promise.all([queue.close(), state.close(), bus.close()]);
    },
  };
  return system;
}
