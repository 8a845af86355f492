import { InvalidArgumentError } from '../../core/src/index.js';
import { byKindAndStart, formatProcessInfo, parseProcessInfo } from './process-info.js';
import type { LiveProcess, ProcessInfo, ProcessRegistry } from './ports.js';

export interface MemoryProcessRegistryOptions {
  /** a process whose last heartbeat is older than this is left out, ms */
  readonly timeoutMs: number;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

/**
 * The Standalone ProcessRegistry: the one process records itself here. Entries are copied through the same JSON form
 * RedisProcessRegistry stores, so both adapters hand back the same thing.
 */
export class MemoryProcessRegistry implements ProcessRegistry {
  private readonly entries = new Map<string, LiveProcess>();
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: MemoryProcessRegistryOptions) {
    if (!(options.timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.timeoutMs = options.timeoutMs;
    this.now = options.now ?? Date.now;
  }

  async heartbeat(info: ProcessInfo): Promise<void> {
    this.entries.set(info.instanceId, { ...parseProcessInfo(formatProcessInfo(info)), lastHeartbeat: this.now() });
  }

  async list(): Promise<LiveProcess[]> {
    const oldest = this.now() - this.timeoutMs;
    for (const [id, entry] of this.entries) if (entry.lastHeartbeat <= oldest) this.entries.delete(id);
    return [...this.entries.values()].sort(byKindAndStart);
  }

  async remove(instanceId: string): Promise<void> {
    this.entries.delete(instanceId);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
