/**
 * jobworkerp.ext.SystemService: the system status for operators (see libs/jobs/src/system-status.ts for what each
 * number means and where it comes from). Every front serves it; any of them answers for the whole cluster, except
 * uptime, which is the answering process's own.
 */
import type { Logger } from '../../core/src/index.js';
import type { SystemStatus, SystemStatusReader } from '../../jobs/src/index.js';
import type * as pb from '../../proto/src/index.js';
import type { SystemServiceServer } from '../../proto/src/index.js';
import { unary } from './handlers.js';

export interface SystemServiceDeps {
  readonly status: Pick<SystemStatusReader, 'read'>;
  readonly logger: Logger;
}

export function systemService(deps: SystemServiceDeps): SystemServiceServer {
  return {
    getStatus: unary('SystemService/GetStatus', deps.logger, async () => systemStatusToProto(await deps.status.read())),
  };
}

export function systemStatusToProto(s: SystemStatus): pb.SystemStatus {
  return {
    version: s.version,
    uptimeMs: s.uptimeMs,
    storageType: s.storageType,
    processes: s.processes.map((p) => ({
      kind: p.kind,
      nodeId: p.nodeId,
      host: p.host,
      pid: p.pid,
      startTime: p.startTime,
      lastHeartbeat: p.lastHeartbeat,
      channels: p.channels.map((c) => ({ name: c.name, concurrency: c.concurrency })),
      instanceId: p.instanceId,
    })),
    channels: s.channels.map((c) => ({
      name: c.channel,
      waiting: c.waiting,
      running: c.running,
      oldestWaitingMs: c.oldestWaitingMs,
      completedPerSecond: c.completedPerSecond,
    })),
    delayedJobs: s.delayedJobs,
    periodicJobs: s.periodicJobs,
    deadLetters: s.deadLetters,
    schedules: s.schedules,
    time: s.time,
  };
}
