/** Contract suites every queue adapter runs (memory now, Redis later), and the fixtures they use. */
export { jobQueueContract } from './job-queue-contract.js';
export type { JobQueueFactory, JobQueueFixture } from './job-queue-contract.js';
export { jobStateStoreContract } from './job-state-store-contract.js';
export type { JobStateStoreFactory, JobStateStoreFixture } from './job-state-store-contract.js';
export { resultBusContract } from './result-bus-contract.js';
export type { RawResultAccess, ResultBusFactory, ResultBusFixture } from './result-bus-contract.js';
export { testJob } from './test-job.js';
export { testJobResult } from './test-job-result.js';
export { processRegistryContract } from './process-registry-contract.js';
export type { ProcessRegistryFactory, ProcessRegistryFixture } from './process-registry-contract.js';
