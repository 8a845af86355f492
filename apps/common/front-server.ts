import type { Config } from '../../libs/config/src/index.js';
import type { JobTracer, Logger } from '../../libs/core/src/index.js';
import type { JobServicesDeps, ServiceRegistration, TlsMaterial } from '../../libs/front/src/index.js';
import {
  deadLetterService,
  GrpcServer,
  jobBatchService,
  jobRestoreService,
  jobResultService,
  jobService,
  jobStatusService,
  runnerService,
  scheduleService,
  systemService,
  WorkerResolver,
  workerService,
} from '../../libs/front/src/index.js';
import {
  DeadLetterServiceService,
  JobBatchServiceService,
  JobRestoreServiceService,
  JobResultServiceService,
  JobServiceService,
  JobStatusServiceService,
  RunnerServiceService,
  ScheduleServiceService,
  SystemServiceService,
  WorkerServiceService,
} from '../../libs/proto/src/index.js';
import type { JobLifecycle } from '../../libs/jobs/src/index.js';
import { SystemStatusReader } from '../../libs/jobs/src/index.js';
import { packageVersion } from '../cli/version.js';
import type { RunnerRegistry } from '../../libs/runners/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';
import type { JobSystem } from './job-system.js';
import { processStartTime } from './presence.js';

export interface FrontWiring {
  readonly config: Config;
  readonly logger: Logger;
  /** serve gRPC over TLS (readTlsMaterial of config.tls); plain text when absent */
  readonly tls?: TlsMaterial;
  readonly storage: Storage;
  /** the runners this process knows: their settings checks (plugins' included) run at WorkerService.Create/Update */
  readonly registry: Pick<RunnerRegistry, 'get'>;
  /** the job pipeline; without it the job services are not offered (they answer UNIMPLEMENTED) */
  readonly jobs?: { readonly system: JobSystem; readonly lifecycle: JobLifecycle };
  /** told after a worker is updated or deleted */
  readonly onWorkerChanged?: (workerId: number) => void;
  /** told after a schedule is created, changed or deleted (this process's scheduler looks again) */
  readonly onScheduleChanged?: () => void;
  /** a server span per enqueueing call (OTLP_ADDR) */
  readonly tracer?: JobTracer | undefined;
}

/** The gRPC server with every jobworkerp service. */
export function createFrontServer(w: FrontWiring): GrpcServer {
  const { config, logger, storage } = w;
  const resolver = new WorkerResolver(storage);
  const services: ServiceRegistration[] = [
    { definition: RunnerServiceService, implementation: runnerService({ storage, logger }) },
    {
      definition: WorkerServiceService,
      implementation: workerService({
        storage,
        logger,
        fetchIntervalMs: config.queue.fetchIntervalMs,
        settingsCheck: (runnerId) => w.registry.get(runnerId)?.validateSettings,
        onWorkerChanged: async (id) => {
          resolver.invalidate();
          w.onWorkerChanged?.(id);
        },
      }),
    },
  ];
  if (w.jobs !== undefined) {
    const { system, lifecycle } = w.jobs;
    const deps: JobServicesDeps = { storage, lifecycle, bus: system.bus, ids: system.ids, logger, tracer: w.tracer };
    services.push(
      { definition: JobServiceService, implementation: jobService(deps, resolver) },
      { definition: JobBatchServiceService, implementation: jobBatchService(deps, resolver) },
      { definition: JobResultServiceService, implementation: jobResultService(deps, resolver) },
      { definition: JobStatusServiceService, implementation: jobStatusService(deps) },
      { definition: JobRestoreServiceService, implementation: jobRestoreService(deps) },
      {
        definition: ScheduleServiceService,
        implementation: scheduleService({ storage, logger, onScheduleChanged: w.onScheduleChanged }, resolver),
      },
      {
        definition: DeadLetterServiceService,
        implementation: deadLetterService(
          { deadLetters: lifecycle.deadLetters, capabilities: storage.capabilities, logger },
          resolver,
        ),
      },
      {
        definition: SystemServiceService,
        implementation: systemService({
          logger,
          status: new SystemStatusReader({
            queue: system.queue,
            processes: system.processes,
            jobs: storage.jobs,
            schedules: storage.schedules,
            deadLetters: lifecycle.deadLetters,
            version: packageVersion(),
            storageType: config.storageType,
            startTime: processStartTime,
          }),
        }),
      },
    );
  }
  return new GrpcServer({ ...config.grpc, logger, services, tls: w.tls });
}
