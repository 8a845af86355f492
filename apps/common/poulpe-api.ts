/**
 * The poulpe-compatible HTTP API of a front (POULPE_HTTP_ADDR; docs/poulpe-api.md), wired to the process's job node.
 */
import type { HttpListener, TlsMaterial } from '../../libs/front/src/index.js';
import { startPoulpeApi } from '../../libs/front/src/index.js';
import { SystemStatusReader } from '../../libs/jobs/src/index.js';
import { packageVersion } from '../cli/version.js';
import type { JobNode } from './job-node.js';
import { processStartTime } from './presence.js';

/** Starts the API when POULPE_HTTP_ADDR is set (after creating its workers); undefined otherwise. */
export async function startConfiguredPoulpeApi(
  node: Pick<JobNode, 'config' | 'logger' | 'storage' | 'jobs' | 'lifecycle'>,
  options: { readonly tls?: TlsMaterial | undefined; readonly onWorkerChanged?: (workerId: number) => void } = {},
): Promise<HttpListener | undefined> {
  const { config, logger, storage, jobs, lifecycle } = node;
  if (config.poulpe === undefined) return undefined;
  return startPoulpeApi({
    config: config.poulpe,
    authToken: config.grpc.authToken,
    maxBodyBytes: config.http.maxBodyBytes,
    fetchIntervalMs: config.queue.fetchIntervalMs,
    storage,
    lifecycle,
    bus: jobs.bus,
    ids: jobs.ids,
    status: new SystemStatusReader({
      queue: jobs.queue,
      processes: jobs.processes,
      jobs: storage.jobs,
      schedules: storage.schedules,
      deadLetters: lifecycle.deadLetters,
      version: packageVersion(),
      storageType: config.storageType,
      startTime: processStartTime,
    }),
    logger,
    tls: options.tls,
    onWorkerChanged: options.onWorkerChanged,
  });
}
