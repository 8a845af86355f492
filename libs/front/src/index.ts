export { AUTH_METADATA_KEY, authInterceptor } from './auth.js';
export { toServiceError } from './grpc-errors.js';
export { GrpcServer } from './grpc-server.js';
export type { GrpcServerOptions, GrpcServerState, ServiceRegistration } from './grpc-server.js';
export { runnerService } from './runner-service.js';
export type { RunnerServiceDeps } from './runner-service.js';
export { workerService } from './worker-service.js';
export type { WorkerServiceDeps } from './worker-service.js';
export { WorkerResolver } from './job-context.js';
export type { JobServicesDeps } from './job-context.js';
export { jobService } from './job-service.js';
export { jobBatchService } from './job-batch-service.js';
export { jobResultService } from './job-result-service.js';
export { jobRestoreService, jobStatusService } from './job-status-service.js';
export { scheduleService, scheduleToProto } from './schedule-service.js';
export type { ScheduleServiceDeps } from './schedule-service.js';
export { deadLetterService } from './dead-letter-service.js';
export type { DeadLetterServiceDeps } from './dead-letter-service.js';
export { systemService, systemStatusToProto } from './system-service.js';
export type { SystemServiceDeps } from './system-service.js';
export { observeGrpcCalls } from './handlers.js';
export type { GrpcCallObserver } from './handlers.js';
export { HttpError, readBody, readJson, sendJson, startHttpListener } from './http/http-listener.js';
export type { HttpHandler, HttpListener, HttpListenerOptions, TlsMaterial } from './http/http-listener.js';
export { startPoulpeApi } from './http/poulpe/index.js';
export type { PoulpeApiDeps } from './http/poulpe/index.js';
// the gateway's functions are imported from './http/grpc-web-gateway.js' where used, so that Connect loads only in
// processes that serve gRPC-Web
export type {
  GrpcWebGateway,
  GrpcWebGatewayOptions,
  GrpcWebHandler,
  GrpcWebHandlerOptions,
} from './http/grpc-web-gateway.js';
export { parsePushRequest, startPoussetachesApi, TASK_ID_HEADER } from './http/poussetaches/poussetaches-api.js';
export type { PoussetachesApiOptions } from './http/poussetaches/poussetaches-api.js';
export { AUTH_KEY_HEADER } from './http/poussetaches/push-worker.js';
