/**
 * The jobs lib: the job lifecycle — routing a new job, finishing a run (retry, store, publish, next_workers, periodic
 * next run) and restoring backed-up jobs — over the ports of libs/queue and the repositories of libs/storage.
 */
export { channelOf, JobRouter, routeOf } from './job-router.js';
export type { JobRouterDeps, JobRowStore, Route, RoutableWorker } from './job-router.js';
export { rebuildJobState, restoreBackedUpJobs } from './job-restorer.js';
export type { JobRestorerDeps } from './job-restorer.js';
export { ResultProcessor } from './result-processor.js';
export type { ResultProcessorDeps, RunRecord } from './result-processor.js';
