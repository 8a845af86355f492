/**
 * The jobs lib: the job lifecycle (JobLifecycle; its state machine is documented in job-lifecycle.ts) — routing a new
 * job, claiming and beginning it, finishing a run (retry, store, publish, next_workers, periodic next run), giving it
 * back, cancelling and restoring — over the ports of libs/queue and the repositories of libs/storage. The front and
 * the engine both act on jobs only through it.
 */
export { JobLifecycle } from './job-lifecycle.js';
export type { CancelOutcome, JobLifecycleDeps, RecoveryOptions, RunTicket } from './job-lifecycle.js';
export { channelOf, routeOf } from './job-router.js';
export type { Route, RoutableWorker } from './job-router.js';
export { jobLogFields } from './job-log.js';
export type { JobLogFields } from './job-log.js';
export type { RunRecord } from './result-processor.js';
export { DeadLetterKeeper, MAX_REQUEUE_ALL } from './dead-letters.js';
export type { DeadLetterSettings, EffectivePolicy, RequeueAllOutcome } from './dead-letters.js';
export { SystemStatusReader } from './system-status.js';
export type { SystemStatus, SystemStatusDeps } from './system-status.js';
export { NO_JOB_EVENTS } from './job-events.js';
export type { JobEvents } from './job-events.js';
