/**
 * jobworkerp-ts/client: a typed Node client of a jobworkerp server, the library the jobworkerp-client CLI is built
 * on. See JobworkerpClient.
 */
export type {
  ClientOptions,
  DecodedResult,
  EnqueueRequest,
  EnqueueResponse,
  JobSubmitter,
  Paging,
  Payload,
  Ref,
  ScheduleSpec,
  WorkerSpec,
} from './jobworkerp-client.js';
export { encodeValue, JobworkerpClient, MAX_BATCH_JOBS } from './jobworkerp-client.js';
export { isServiceError, serviceError } from './service-error.js';
export type { ConnectionOptions } from './grpc-connection.js';
export { GrpcConnection } from './grpc-connection.js';
export type { ResolvedWorker } from './lookups.js';
export { Lookups } from './lookups.js';
export { decodePayload } from './decode-payload.js';
export { encodePayload } from './encode-payload.js';
export { InvalidInputError } from './input-error.js';
export type { JsonValue } from './json-value.js';
export type { ServerAddress } from './parse-address.js';
export { parseAddress, parseServerAddress } from './parse-address.js';
export type { ClientTls, ClientTlsFiles } from './client-tls.js';
export { readClientTls } from './client-tls.js';
export type { ConnectionDiagnosis, TlsProblem } from './connection-diagnosis.js';
export { diagnoseConnection } from './connection-diagnosis.js';
export { StatusError } from './status-error.js';
export type {
  Job,
  JobResult,
  Runner,
  RunnerData,
  Schedule,
  ScheduleData,
  SystemStatus,
  Worker,
  WorkerData,
} from '../../proto/src/index.js';
export {
  JobStatus,
  MissedTickPolicy,
  OverlapPolicy,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  ScheduleOrigin,
} from '../../proto/src/index.js';
