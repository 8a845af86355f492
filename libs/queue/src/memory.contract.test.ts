import { MemoryJobStateStore } from './memory-job-state-store.js';
import { MemoryQueue } from './memory-queue.js';
import { MemoryResultBus } from './memory-result-bus.js';
import { jobQueueContract, jobStateStoreContract, resultBusContract } from './testing/index.js';

/** the contracts' throwing listeners are deliberate: keep their warnings out of the test output */
const ignoreHandlerError = (): void => {};

jobQueueContract('MemoryQueue', async ({ maxPendingPerChannel, maxPendingTotal }) => {
  const queue = new MemoryQueue({ maxPendingPerChannel, maxPendingTotal });
  return { queue, cleanup: () => queue.close() };
});

jobStateStoreContract('MemoryJobStateStore', async () => {
  const store = new MemoryJobStateStore({ onHandlerError: ignoreHandlerError });
  return { store, cleanup: () => store.close() };
});

resultBusContract('MemoryResultBus', async ({ keepMs, onHandlerError }) => {
  const bus = new MemoryResultBus({ keepMs, onHandlerError });
  return { bus, cleanup: () => bus.close() };
});
