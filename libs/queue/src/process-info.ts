import { InternalError } from '../../core/src/index.js';
import type { LiveProcess, ProcessInfo, ProcessKind } from './ports.js';

const KINDS: readonly ProcessKind[] = ['all-in-one', 'grpc-front', 'worker'];

/**
 * A process's entry as another process reads it back: checked field by field, since any process sharing the Redis
 * namespace (of any version) may have written it. Throws InternalError naming what is wrong.
 */
export function parseProcessInfo(text: string): ProcessInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InternalError('a process entry is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new InternalError('a process entry is not an object');
  const v = value as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof v[key] !== 'string') throw new InternalError(`a process entry has no string ${key}`);
    return v[key];
  };
  const int = (key: string, of: Record<string, unknown> = v): number => {
    const n = of[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n))
      throw new InternalError(`a process entry has no integer ${key}`);
    return n;
  };
  const kind = str('kind') as ProcessKind;
  if (!KINDS.includes(kind)) throw new InternalError(`a process entry has an unknown kind "${kind}"`);
  if (!Array.isArray(v['channels'])) throw new InternalError('a process entry has no channels list');
  const channels = (v['channels'] as unknown[]).map((c) => {
    if (typeof c !== 'object' || c === null) throw new InternalError('a process entry has a bad channel');
    const channel = c as Record<string, unknown>;
    if (typeof channel['name'] !== 'string') throw new InternalError('a process entry has a channel without a name');
    return { name: channel['name'], concurrency: int('concurrency', channel) };
  });
  return {
    instanceId: str('instanceId'),
    kind,
    nodeId: int('nodeId'),
    host: str('host'),
    pid: int('pid'),
    startTime: int('startTime'),
    channels,
  };
}

/** The entry written for a process: only the ProcessInfo fields, whatever else the object holds. */
export function formatProcessInfo(info: ProcessInfo): string {
  const { instanceId, kind, nodeId, host, pid, startTime } = info;
  const channels = info.channels.map(({ name, concurrency }) => ({ name, concurrency }));
  return JSON.stringify({ instanceId, kind, nodeId, host, pid, startTime, channels });
}

/** The order of ProcessRegistry.list: by kind, then start time, then instance id. */
export function byKindAndStart(a: LiveProcess, b: LiveProcess): number {
  return (
    KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) ||
    a.startTime - b.startTime ||
    (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0)
  );
}
