/**
 * The poussetaches HTTP push API of a front (docs/poussetaches-api.md), when POUSSETACHES_HTTP_ADDR is set. It needs
 * the job pipeline (enqueue, dead letters) and the RDB, so it runs in all-in-one and grpc-front.
 */
import type { HttpListener, TlsMaterial } from '../../libs/front/src/index.js';
import { startPoussetachesApi } from '../../libs/front/src/index.js';
import type { JobNode } from './job-node.js';

export interface PoussetachesWiring {
  /** told after the push worker was created or changed at start */
  readonly onWorkerChanged: (workerId: number) => void;
  /** told after a cron push was registered */
  readonly onScheduleChanged: () => void;
  readonly tls?: TlsMaterial;
}

/** Starts the API and logs its "listening" line; undefined when POUSSETACHES_HTTP_ADDR is not set. */
export async function startPoussetaches(node: JobNode, wiring: PoussetachesWiring): Promise<HttpListener | undefined> {
  const { config, logger, storage, lifecycle, jobs } = node;
  const settings = config.poussetaches;
  if (settings.addr === undefined) return undefined;
  const listener = await startPoussetachesApi({
    ...settings.addr,
    tls: wiring.tls,
    authToken: config.grpc.authToken,
    maxBodyBytes: config.http.maxBodyBytes,
    listLimit: settings.listLimit,
    workerName: settings.workerName,
    channel: settings.channel,
    authKey: settings.authKey,
    maxTries: settings.maxTries,
    retryBaseMs: settings.retryBaseMs,
    requestTimeoutMs: settings.requestTimeoutMs,
    storage,
    lifecycle,
    ids: jobs.ids,
    logger: logger.child({ component: 'poussetaches' }),
    onWorkerChanged: wiring.onWorkerChanged,
    onScheduleChanged: wiring.onScheduleChanged,
  });
  // a line for scripts and tests that start the API on port 0
  logger.info({ url: listener.url }, `jobworkerp poussetaches API listening on ${listener.url}`);
  return listener;
}
