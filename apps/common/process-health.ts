/**
 * A process's health, wired from the Config: a HealthMonitor over what the process needs (the RDB always; Redis in
 * Scalable mode), the front's grpc.health.v1 statuses driven by it, and the HTTP endpoint when HEALTH_ADDR is set.
 *
 * Which gRPC service needs what: RunnerService and WorkerService read and write the RDB only; every job service
 * needs the queue side too (Redis in Scalable mode) and the RDB (workers, backed-up and delayed jobs, results); the
 * whole server ('') is SERVING only while everything is up. A service this list does not name needs everything.
 */
import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';
import type { GrpcServer } from '../../libs/front/src/index.js';
import { RunnerServiceService, WorkerServiceService } from '../../libs/proto/src/index.js';
import { RedisHealthProbe } from '../../libs/queue/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';
import type { HealthEndpoint } from './health-endpoint.js';
import { startHealthEndpoint } from './health-endpoint.js';
import type { Dependency } from './health-monitor.js';
import { HealthMonitor } from './health-monitor.js';

export interface ProcessHealthWiring {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Pick<Storage, 'ping'>;
  /** the front's server, whose grpc.health.v1 statuses follow the dependencies */
  readonly server?: GrpcServer;
}

export interface ProcessHealth {
  readonly monitor: HealthMonitor;
  /** the HTTP endpoint, when HEALTH_ADDR is set */
  readonly endpoint: HealthEndpoint | undefined;
  /**
   * Stops the checks: from now on the endpoint answers NOT_SERVING (stopping) and /livez still 200, so a probe sees
   * the shutdown while running jobs drain. Call it first when the process stops.
   */
  stopChecks(): Promise<void>;
  /** Stops the checks and closes the endpoint; call it last. */
  close(): Promise<void>;
}

/** Runs the first check of every dependency, then starts the endpoint (when configured). */
export async function startProcessHealth(w: ProcessHealthWiring): Promise<ProcessHealth> {
  const { config, logger } = w;
  const monitor = new HealthMonitor(dependencies(config, w.storage), {
    intervalMs: config.health.checkIntervalMs,
    logger,
  });
  await monitor.start();
  if (w.server !== undefined) bindGrpcHealth(w.server, monitor);
  let endpoint: HealthEndpoint | undefined;
  try {
    const addr = config.health.addr;
    if (addr !== undefined) {
      endpoint = await startHealthEndpoint({ ...addr, report: () => monitor.report(), logger });
      // a line for people and tests that start the process with port 0 (docs/logs.md)
      logger.info(
        { url: endpoint.url, paths: ['/healthz', '/livez'] },
        `jobworkerp health endpoint at ${endpoint.url} (GET /healthz, /livez)`,
      );
    }
  } catch (err) {
    await monitor.stop();
    throw err;
  }
  return {
    monitor,
    endpoint,
    stopChecks: () => monitor.stop(),
    close: async () => {
      await monitor.stop();
      await endpoint?.close();
    },
  };
}

function dependencies(config: Config, storage: Pick<Storage, 'ping'>): Dependency[] {
  const { mysql } = config.storage;
  const rdb: Dependency = {
    name: 'rdb',
    target:
      config.storageType === 'Standalone'
        ? `sqlite ${config.storage.sqlitePath}`
        : `mysql ${mysql.host}:${mysql.port}/${mysql.database}`,
    check: () => storage.ping(),
  };
  if (config.storageType === 'Standalone') return [rdb];
  const probe = new RedisHealthProbe(config.redis);
  const redis: Dependency = {
    name: 'redis',
    target: probe.address,
    check: (timeoutMs) => probe.check(timeoutMs),
    onChange: (listener) => probe.onChange(listener),
    close: () => probe.close(),
  };
  return [redis, rdb];
}

/** The full service name of a generated service definition (`jobworkerp.service.RunnerService`). */
function serviceName(definition: Record<string, { readonly path: string }>): string | undefined {
  return Object.values(definition)[0]?.path.split('/')[1];
}

function bindGrpcHealth(server: GrpcServer, monitor: HealthMonitor): void {
  const rdbOnly = new Set([serviceName(RunnerServiceService), serviceName(WorkerServiceService)]);
  const apply = (): void => {
    const everything = monitor.dependencyNames.every((name) => monitor.isUp(name));
    server.setServing('', everything);
    for (const name of server.serviceNames)
      server.setServing(name, rdbOnly.has(name) ? monitor.isUp('rdb') : everything);
  };
  apply();
  monitor.onTransition(apply);
}
