#!/usr/bin/env node
/**
 * all-in-one: the gRPC front and the job engine in one process — the Standalone default (SQLite, in-process queue).
 * SIGINT/SIGTERM: stop accepting calls and claiming jobs, let running jobs finish for SHUTDOWN_GRACE_PERIOD_MS, then
 * abort them; WITH_BACKUP jobs left unfinished run again after the next start.
 */
import { loadConfig } from '../../libs/config/src/index.js';
import { Engine } from '../../libs/engine/src/index.js';
import { createFrontServer } from '../common/front-server.js';
import { createJobSystem } from '../common/job-system.js';
import { createLogger } from '../common/logger.js';
import { loadPluginRunners } from '../common/plugins-from-config.js';
import { createRunnerRegistry } from '../common/runners-from-config.js';
import { runApp } from '../common/process-lifecycle.js';
import { openConfiguredStorage } from '../common/storage-from-config.js';

runApp('all-in-one', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'all-in-one');
  const storage = await openConfiguredStorage(config);
  const jobs = createJobSystem(config, storage, logger);
  const registry = createRunnerRegistry(config);
  const plugins = await loadPluginRunners(config, storage, logger);
  for (const definition of plugins.definitions) registry.register(definition);
  const engine = new Engine(
    { channels: config.worker.channels, leaseMs: config.queue.leaseMs, fetchIntervalMs: config.queue.fetchIntervalMs },
    { storage, queue: jobs.queue, state: jobs.state, bus: jobs.bus, router: jobs.router, registry, ids: jobs.ids, logger },
  );
  jobs.onDueRow = () => engine.wake();
  const server = createFrontServer({
    config,
    logger,
    storage,
    jobs: {
      system: jobs,
      finishWithoutRun: (job, worker, status, message) => engine.finishWithoutRun(job, worker, status, message),
    },
    onWorkerChanged: (id) => engine.invalidateWorker(id),
  });

  await jobs.recover();
  await engine.start();
  const port = await server.start();
  // a line for scripts and tests that start the server on port 0
  process.stdout.write(`jobworkerp all-in-one listening on ${config.grpc.host}:${port} (${config.storageType})\n`);
  return {
    logger,
    stop: async () => {
      // stop taking calls and claiming jobs together; running jobs get the grace period, then go back unfinished
      await Promise.all([server.stop(config.worker.shutdownGraceMs), engine.stop(config.worker.shutdownGraceMs)]);
      await plugins.close();
      await jobs.close();
      await storage.close();
    },
  };
});
