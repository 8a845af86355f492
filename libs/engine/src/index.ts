export { JobCancelledError, JobTimeoutError, LeaseLostError, ShutdownAbortError } from './abort-reasons.js';
export { ChannelDispatcher } from './channel-dispatcher.js';
export type { ChannelDispatcherDeps, DispatcherState } from './channel-dispatcher.js';
export { Engine } from './engine.js';
export type { EngineDeps, EngineOptions, EngineState } from './engine.js';
export { executeJob } from './executor.js';
export type { Outcome } from './executor.js';
export { RdbPoller } from './rdb-poller.js';
export { freshRunnerSource } from './runner-source.js';
export type { RunnerLease, RunnerSource } from './runner-source.js';
export { StaticRunnerPool } from './static-runner-pool.js';
export { Scheduler } from './scheduler.js';
export type { SchedulerDeps, SchedulerOptions, SchedulerState } from './scheduler.js';
export { CronFileWatcher, parseCronFile, syncCronFile } from './cron-file.js';
export type {
  CronFileError,
  CronFileLine,
  CronFileReport,
  CronFileSyncDeps,
  CronFileWatcherOptions,
} from './cron-file.js';
