import { MemoryJobStateStore } from './memory-job-state-store.js';
import { MemoryQueue } from './memory-queue.js';
import { MemoryResultBus } from './memory-result-bus.js';
import { MemoryProcessRegistry } from './memory-process-registry.js';
import {
  jobQueueContract,
  jobStateStoreContract,
  processRegistryContract,
  resultBusContract,
} from './testing/index.js';

/** the contracts' throwing listeners are deliberate: keep their warnings out of the test output */
const ignoreHandlerError = (): void => {};

jobQueueContract('MemoryQueue', async ({ maxPendingPerChannel, maxPendingTotal }) => {
  const state = new MemoryJobStateStore({ onHandlerError: ignoreHandlerError });
  const bus = new MemoryResultBus({ keepMs: 60_000, onHandlerError: ignoreHandlerError });
  const queue = new MemoryQueue({ maxPendingPerChannel, maxPendingTotal, state, results: bus });
  return {
    queue,
    state,
    bus,
    cleanup: async () => {
      await Promise.all([queue.close(), state.close(), bus.close()]);
    },
  };
});

jobStateStoreContract('MemoryJobStateStore', async () => {
  const store = new MemoryJobStateStore({ onHandlerError: ignoreHandlerError });
  return { store, cleanup: () => store.close() };
});

resultBusContract('MemoryResultBus', async ({ keepMs, onHandlerError }) => {
  const bus = new MemoryResultBus({ keepMs, onHandlerError });
  return { bus, cleanup: () => bus.close() };
});

processRegistryContract('MemoryProcessRegistry', async () => {
  // one process, one registry: every open() of a fixture is the same registry
  let registry: MemoryProcessRegistry | undefined;
  return {
    open: (timeoutMs) => (registry ??= new MemoryProcessRegistry({ timeoutMs })),
    cleanup: async () => registry?.close(),
  };
});
