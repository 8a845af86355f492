#!/usr/bin/env node
/**
 * grpc-front: serves the gRPC API without running jobs. Runner and worker management work on either storage; the
 * job services need the Scalable queue (Redis), which is not part of this build yet, so they answer UNIMPLEMENTED.
 */
import { loadConfig } from '../../libs/config/src/index.js';
import { createFrontServer } from '../common/front-server.js';
import { createLogger } from '../common/logger.js';
import { loadPluginRunners } from '../common/plugins-from-config.js';
import { runApp } from '../common/process-lifecycle.js';
import { openConfiguredStorage } from '../common/storage-from-config.js';

runApp('grpc-front', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'grpc-front');
  const storage = await openConfiguredStorage(config);
  // the front runs no jobs: it only registers the plugins' runner rows
  await loadPluginRunners(config, storage, logger);
  const server = createFrontServer({ config, logger, storage });
  const port = await server.start();
  process.stdout.write(`jobworkerp grpc-front listening on ${config.grpc.host}:${port} (${config.storageType})\n`);
  return {
    logger,
    stop: async () => {
      await server.stop(config.worker.shutdownGraceMs);
      await storage.close();
    },
  };
});
