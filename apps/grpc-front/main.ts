#!/usr/bin/env node
/**
 * grpc-front: serves the gRPC API without running jobs (Scalable mode: jobs go to Redis and MySQL, `worker`
 * processes run them). It also registers the plugins' runner rows, since clients read their schemas here.
 */
import { loadConfig } from '../../libs/config/src/index.js';
import { createFrontServer } from '../common/front-server.js';
import { openJobNode } from '../common/job-node.js';
import { startGrpcWeb } from '../common/grpc-web.js';
import { createLogger } from '../common/logger.js';
import { startConfiguredPoulpeApi } from '../common/poulpe-api.js';
import { startPoussetaches } from '../common/poussetaches.js';
import { startPresence } from '../common/presence.js';
import { runApp } from '../common/process-lifecycle.js';
import { startProcessHealth } from '../common/process-health.js';
import { startScheduling } from '../common/scheduling.js';
import { readTlsMaterial } from '../common/tls-material.js';

runApp('grpc-front', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'grpc-front');
  const tls = readTlsMaterial(config.tls);
  if (config.storageType === 'Standalone') {
    throw new Error(
      'grpc-front needs STORAGE_TYPE=Scalable (Redis and MySQL shared with workers); for one process use all-in-one',
    );
  }
  const node = await openJobNode(config, logger, 'grpc-front');
  const server = createFrontServer({
    config,
    logger,
    tls,
    storage: node.storage,
    registry: node.registry,
    // no engine here: the front's own lifecycle finishes the jobs it cancels before they ran
    jobs: { system: node.jobs, lifecycle: node.lifecycle },
    tracer: node.tracer,
    onWorkerChanged: (id) => node.lifecycle.invalidateWorker(id),
    onScheduleChanged: () => scheduling.wake(),
  });
  await node.recover();
  const health = await startProcessHealth({ config, logger, storage: node.storage, server });
  const scheduling = await startScheduling(node);
  const presence = await startPresence(node, 'grpc-front');
  const port = await server.start();
  // the ready line, for people, scripts and tests that start the server on port 0 (docs/logs.md)
  logger.info(
    {
      address: `${config.grpc.host}:${port}`,
      host: config.grpc.host,
      port,
      storage: config.storageType,
      tls: tls !== undefined,
    },
    `jobworkerp grpc-front listening on ${config.grpc.host}:${port} (${config.storageType}${tls === undefined ? '' : ', TLS'})`,
  );
  const poulpe = await startConfiguredPoulpeApi(node, {
    tls,
    onWorkerChanged: (id) => node.lifecycle.invalidateWorker(id),
  });
  if (poulpe !== undefined) logger.info({ url: poulpe.url }, `jobworkerp poulpe API listening on ${poulpe.url}`);
  const grpcWeb = await startGrpcWeb(config, server, logger, tls);
  const poussetaches = await startPoussetaches(node, {
    tls,
    onWorkerChanged: (id) => node.lifecycle.invalidateWorker(id),
    onScheduleChanged: () => scheduling.wake(),
  });
  return {
    logger,
    stop: async () => {
      // out of the live-process list at once, before draining
      await presence.stop();
      await health.stopChecks();
      await poussetaches?.close();
      await scheduling.stop();
      // the gRPC-Web gateway first: its calls in flight go on through the draining gRPC server
      await Promise.all([
        grpcWeb?.stop(config.worker.shutdownGraceMs),
        server.stop(config.worker.shutdownGraceMs),
        poulpe?.close(),
      ]);
      await health.close();
      await node.close();
    },
  };
});
