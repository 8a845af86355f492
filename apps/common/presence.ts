/**
 * Keeps this process in the live-process list of the system status: a heartbeat every HEARTBEAT_INTERVAL_MS with its
 * kind, node id, host, pid, start time and the channels it runs (see ProcessRegistry). Stopping removes it at once,
 * so a graceful stop leaves the list before the process drains; a killed process leaves it after HEARTBEAT_TIMEOUT_MS.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ProcessKind, ServedChannel } from '../../libs/queue/src/index.js';
import { ProcessPresence } from '../../libs/queue/src/index.js';
import type { JobNode } from './job-node.js';

/** When this process started, epoch ms. */
export const processStartTime = Math.round(performance.timeOrigin);

export async function startPresence(node: JobNode, kind: ProcessKind): Promise<ProcessPresence> {
  const { config, jobs, logger } = node;
  const instanceId = randomUUID();
  const host = hostname();
  const channels: ServedChannel[] =
    kind === 'grpc-front'
      ? []
      : config.worker.channels.map((channel) => ({ name: channel.name, concurrency: channel.concurrency }));
  const presence = new ProcessPresence({
    registry: jobs.processes,
    info: () => ({
      instanceId,
      kind,
      nodeId: jobs.nodeId(),
      host,
      pid: process.pid,
      startTime: processStartTime,
      channels,
    }),
    intervalMs: config.processes.heartbeatIntervalMs,
    onError: (err) => logger.warn({ err }, 'could not record a heartbeat of this process; retrying'),
  });
  await presence.start();
  return presence;
}
