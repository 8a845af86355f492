/**
 * What every jobworkerp process opens at start, in one place: the RDB (migrated, runners seeded), the job system of
 * the storage mode (queues, job state, result delivery, ids), the runners it can run (built-ins and plugins, whose
 * runner rows it registers), and the one job lifecycle of the process. Apps add an engine, a gRPC front or both,
 * and both act on jobs through that lifecycle.
 */
import type { Config } from '../../libs/config/src/index.js';
import type { JobTracer, Logger } from '../../libs/core/src/index.js';
import { Engine } from '../../libs/engine/src/index.js';
import { observeGrpcCalls } from '../../libs/front/src/index.js';
import { JobLifecycle } from '../../libs/jobs/src/index.js';
import type { RunnerRegistry } from '../../libs/runners/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';
import type { JobSystem } from './job-system.js';
import { createJobSystem } from './job-system.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import type { ProcessMetrics } from './metrics.js';
import { loadPluginRunners } from './plugins-from-config.js';
import { storagePauseSwitches } from './pause-switches.js';
import { createRunnerRegistry } from './runners-from-config.js';
import { openConfiguredStorage } from './storage-from-config.js';
import type { Tracing } from './tracing.js';
import { packageVersion } from '../cli/version.js';

/** The apps that open a job node; each names its spans' service after itself (unless OTEL_SERVICE_NAME says). */
export type JobNodeApp = 'all-in-one' | 'grpc-front' | 'worker';

export interface JobNode {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly jobs: JobSystem;
  readonly registry: RunnerRegistry;
  readonly lifecycle: JobLifecycle;
  /** the process's metrics, when METRICS_ADDR is set (served from the start, closed by close()) */
  readonly metrics: ProcessMetrics | undefined;
  /** records spans of enqueueing calls and job runs, when OTLP_ADDR is set (flushed by close()) */
  readonly tracer: JobTracer | undefined;
  /**
   * After a start: Standalone rebuilds its in-memory job state from the RDB and puts every backed-up job back in the
   * queue; Scalable restores backed-up jobs when STORAGE_RESTORE_AT_STARTUP says so.
   */
  recover(): Promise<void>;
  /** closes what openJobNode opened (after engines and servers stopped) */
  close(): Promise<void>;
}

export async function openJobNode(config: Config, logger: Logger, app: JobNodeApp): Promise<JobNode> {
  const metricsAddr = config.telemetry.metricsAddr;
  // prom-client is loaded only by processes that serve metrics
  const metrics = metricsAddr === undefined ? undefined : (await import('./metrics.js')).createProcessMetrics(logger);
  // and the OpenTelemetry SDK only by processes that send traces
  const tracing = await startConfiguredTracing(config, logger, app);
  let storage: Storage | undefined;
  let jobs: JobSystem | undefined;
  let endpoint: MetricsEndpoint | undefined;
  try {
    storage = await openConfiguredStorage(config, metrics?.dbError);
    jobs = await createJobSystem(config, logger, {
      onRedisError: metrics?.redisError,
      onLeasesLapsed: metrics?.leasesLapsed,
    });
    const registry = createRunnerRegistry(config, storagePauseSwitches(storage));
    const plugins = await loadPluginRunners(config, storage, logger, jobs.ids);
    for (const definition of plugins.definitions) registry.register(definition);
    const opened = jobs;
    const lifecycle = new JobLifecycle({
      storage,
      queue: opened.queue,
      state: opened.state,
      bus: opened.bus,
      ids: opened.ids,
      logger,
      findDefinition: (runnerId) => registry.get(runnerId),
      cancelTtlMs: config.queue.expireJobResultMs,
      deadLetters: config.deadLetters,
      retryJitter: config.queue.retryJitter,
      onDueRow: () => opened.wake.notify(),
      events: metrics?.jobEvents,
      tracer: tracing?.tracer,
    });
    if (metrics !== undefined && metricsAddr !== undefined) {
      // every handler of this process tells the metrics how its calls end
      observeGrpcCalls(metrics.grpcCall);
      // the waiting/running gauges read the queue at each scrape (every channel that has jobs or a live process)
      metrics.setChannelStats(() => opened.queue.channelStats());
      const { startMetricsEndpoint } = await import('./metrics-endpoint.js');
      endpoint = await startMetricsEndpoint({ ...metricsAddr, metrics, logger });
      // a line for people and tests that start the process with port 0 (docs/logs.md)
      logger.info({ url: endpoint.url }, `jobworkerp metrics endpoint at ${endpoint.url}`);
    }
    const standalone = config.storageType === 'Standalone';
    const metricsEndpoint = endpoint;
    const openedStorage = storage;
    return {
      config,
      logger,
      storage: openedStorage,
      jobs: opened,
      registry,
      lifecycle,
      metrics,
      tracer: tracing?.tracer,
      recover: () =>
        lifecycle.recover({
          rebuildState: standalone,
          restore: standalone ? 'all' : config.restoreAtStartup ? 'ungrabbed' : 'none',
        }),
      close: async () => {
        await plugins.close();
        await opened.close();
        await openedStorage.close();
        await metricsEndpoint?.close();
        // last: the spans of everything that stopped above are sent
        await tracing?.shutdown();
      },
    };
  } catch (err) {
    await endpoint?.close();
    await jobs?.close();
    await storage?.close();
    await tracing?.shutdown();
    throw err;
  }
}

/** Tracing when OTLP_ADDR is set (the SDK is imported then only), with a line saying where spans go. */
async function startConfiguredTracing(config: Config, logger: Logger, app: JobNodeApp): Promise<Tracing | undefined> {
  const otlpAddr = config.telemetry.otlpAddr;
  if (otlpAddr === undefined) return undefined;
  const { startTracing } = await import('./tracing.js');
  const tracing = startTracing({
    otlpAddr,
    serviceName: config.telemetry.serviceName ?? `jobworkerp-${app}`,
    serviceVersion: packageVersion(),
    logger,
  });
  // a line for people and tests
  process.stdout.write(`jobworkerp traces sent to ${tracing.endpoint}\n`);
  return tracing;
}

/** The job engine of a process that runs jobs (all-in-one, worker); it shares the node's lifecycle. */
export function createEngine(node: JobNode): Engine {
  const { config, storage, jobs, lifecycle, logger } = node;
  return new Engine(
    { channels: config.worker.channels, leaseMs: config.queue.leaseMs, fetchIntervalMs: config.queue.fetchIntervalMs },
    { storage, lifecycle, logger, wake: jobs.wake },
  );
}
