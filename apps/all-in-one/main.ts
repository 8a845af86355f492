#!/usr/bin/env node
/**
 * all-in-one: the gRPC front and the job engine in one process — the Standalone default (SQLite, in-process queue);
 * with STORAGE_TYPE=Scalable it joins a cluster (Redis, MySQL) like a grpc-front and a worker together.
 * SIGINT/SIGTERM: stop accepting calls and claiming jobs, let running jobs finish for SHUTDOWN_GRACE_PERIOD_MS, then
 * abort them; WITH_BACKUP jobs left unfinished run again after the next start.
 */
import { loadConfig } from '../../libs/config/src/index.js';
import { createFrontServer } from '../common/front-server.js';
import { createEngine, openJobNode } from '../common/job-node.js';
import { startGrpcWeb } from '../common/grpc-web.js';
import { createLogger } from '../common/logger.js';
import { startConfiguredPoulpeApi } from '../common/poulpe-api.js';
import { startPoussetaches } from '../common/poussetaches.js';
import { startPresence } from '../common/presence.js';
import { runApp } from '../common/process-lifecycle.js';
import { startProcessHealth } from '../common/process-health.js';
import { startScheduling } from '../common/scheduling.js';
import { readTlsMaterial } from '../common/tls-material.js';

runApp('all-in-one', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'all-in-one');
  const tls = readTlsMaterial(config.tls);
  const node = await openJobNode(config, logger, 'all-in-one');
  const engine = createEngine(node);
  const server = createFrontServer({
    config,
    logger,
    tls,
    storage: node.storage,
    registry: node.registry,
    jobs: { system: node.jobs, lifecycle: node.lifecycle },
    tracer: node.tracer,
    onWorkerChanged: (id) => engine.invalidateWorker(id),
    onScheduleChanged: () => scheduling.wake(),
  });

  await node.recover();
  await engine.start();
  const health = await startProcessHealth({ config, logger, storage: node.storage, server });
  const scheduling = await startScheduling(node);
  const presence = await startPresence(node, 'all-in-one');
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
    `jobworkerp all-in-one listening on ${config.grpc.host}:${port} (${config.storageType}${tls === undefined ? '' : ', TLS'})`,
  );
  const poulpe = await startConfiguredPoulpeApi(node, { tls, onWorkerChanged: (id) => engine.invalidateWorker(id) });
  if (poulpe !== undefined) logger.info({ url: poulpe.url }, `jobworkerp poulpe API listening on ${poulpe.url}`);
  const grpcWeb = await startGrpcWeb(config, server, logger, tls);
  const poussetaches = await startPoussetaches(node, {
    tls,
    onWorkerChanged: (id) => engine.invalidateWorker(id),
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
      // stop taking calls and claiming jobs together; running jobs get the grace period, then go back unfinished
      // the gRPC-Web gateway first: its calls in flight go on through the draining gRPC server
      await Promise.all([
        grpcWeb?.stop(config.worker.shutdownGraceMs),
        server.stop(config.worker.shutdownGraceMs),
        engine.stop(config.worker.shutdownGraceMs),
        poulpe?.close(),
      ]);
      await health.close();
      await node.close();
    },
  };
});
