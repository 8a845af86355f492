#!/usr/bin/env node
/**
 * worker: runs jobs from the shared queue (Scalable mode: Redis and MySQL), with no gRPC server; its probes use the
 * HTTP health endpoint (HEALTH_ADDR: GET /healthz, /livez).
 * SIGINT/SIGTERM: stop claiming, let running jobs finish for SHUTDOWN_GRACE_PERIOD_MS, then abort them and return
 * them to the queue so another worker takes them at once.
 */
import { loadConfig } from '../../libs/config/src/index.js';
import { createEngine, openJobNode } from '../common/job-node.js';
import { createLogger } from '../common/logger.js';
import { startPresence } from '../common/presence.js';
import { runApp } from '../common/process-lifecycle.js';
import { startProcessHealth } from '../common/process-health.js';
import { startScheduling } from '../common/scheduling.js';

runApp('worker', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  if (config.storageType === 'Standalone') {
    throw new Error(
      'worker needs STORAGE_TYPE=Scalable (Redis and MySQL shared with grpc-fronts); for one process use all-in-one',
    );
  }
  const node = await openJobNode(config, logger, 'worker');
  const engine = createEngine(node);
  await node.recover();
  await engine.start();
  const health = await startProcessHealth({ config, logger, storage: node.storage });
  const scheduling = await startScheduling(node);
  const presence = await startPresence(node, 'worker');
  // the ready line (docs/logs.md)
  const channels = config.worker.channels.map((c) => `${c.name}:${c.concurrency}`);
  logger.info({ channels, storage: config.storageType }, `jobworkerp worker started (channels ${channels.join(', ')})`);
  return {
    logger,
    stop: async () => {
      // out of the live-process list at once, before draining
      await presence.stop();
      // the endpoint answers NOT_SERVING (stopping) while running jobs drain
      await health.stopChecks();
      await scheduling.stop();
      await engine.stop(config.worker.shutdownGraceMs);
      await health.close();
      await node.close();
    },
  };
});
