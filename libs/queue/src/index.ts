/**
 * The queue lib: the JobQueue, JobStateStore and ResultBus ports and their Standalone (in-memory) adapters.
 * Contract suites for adapters live in ./testing/index.ts, apart, so production code does not load vitest.
 */
export type * from './ports.js';
export { MemoryQueue } from './memory-queue.js';
export type { MemoryQueueOptions } from './memory-queue.js';
export { MemoryJobStateStore } from './memory-job-state-store.js';
export type { MemoryJobStateStoreOptions } from './memory-job-state-store.js';
export { MemoryResultBus } from './memory-result-bus.js';
export type { MemoryResultBusOptions } from './memory-result-bus.js';
export { channelOf, JobRouter, routeOf } from './job-router.js';
export type { JobRouterDeps, JobRowStore, Route, RoutableWorker } from './job-router.js';
export { rebuildJobState, restoreBackedUpJobs } from './job-restorer.js';
export type { JobRestorerDeps } from './job-restorer.js';
