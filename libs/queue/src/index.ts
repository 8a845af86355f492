/**
 * The queue lib: the JobQueue, JobStateStore and ResultBus ports, their Standalone (in-memory) adapters and their
 * Scalable (Redis, single or Cluster) adapters.
 * Contract suites for adapters live in ./testing/index.ts, apart, so production code does not load vitest.
 */
export type * from './ports.js';
export { MemoryQueue } from './memory-queue.js';
export type { MemoryQueueOptions } from './memory-queue.js';
export { MemoryJobStateStore } from './memory-job-state-store.js';
export type { MemoryJobStateStoreOptions } from './memory-job-state-store.js';
export { MemoryResultBus } from './memory-result-bus.js';
export type { MemoryResultBusOptions } from './memory-result-bus.js';
export { createRedisAdapters } from './redis-adapters.js';
export type { RedisAdapters, RedisAdaptersOptions } from './redis-adapters.js';
export type { RedisConnectionOptions } from './redis-connection.js';
export { RedisHealthProbe } from './redis-health-probe.js';
export { RedisJobStateStore } from './redis-job-state-store.js';
export type { RedisJobStateStoreOptions } from './redis-job-state-store.js';
export { purgeRedisNamespace } from './redis-namespace.js';
export { RedisQueue } from './redis-queue.js';
export type { RedisQueueOptions } from './redis-queue.js';
export { RedisResultBus } from './redis-result-bus.js';
export type { RedisResultBusOptions } from './redis-result-bus.js';
export { NodeIdLease } from './node-id-lease.js';
export { MemoryProcessRegistry } from './memory-process-registry.js';
export type { MemoryProcessRegistryOptions } from './memory-process-registry.js';
export { RedisProcessRegistry } from './redis-process-registry.js';
export type { RedisProcessRegistryOptions } from './redis-process-registry.js';
export { ProcessPresence } from './process-presence.js';
export type { ProcessPresenceOptions } from './process-presence.js';
export type { NodeIdLeaseOptions } from './node-id-lease.js';
export { MemoryWakeChannel, RedisWakeChannel } from './wake-channel.js';
export type { WakeChannel } from './wake-channel.js';
