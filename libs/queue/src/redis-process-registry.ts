import { InvalidArgumentError, UnavailableError } from '../../core/src/index.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { luaScript } from './redis-lua.js';
import { redisReply } from './redis-reply.js';
import { byKindAndStart, formatProcessInfo, parseProcessInfo } from './process-info.js';
import type { LiveProcess, ProcessInfo, ProcessRegistry } from './ports.js';

export interface RedisProcessRegistryOptions {
  readonly redis: RedisConnectionOptions;
  readonly keyPrefix: string;
  /** a process whose last heartbeat is older than this is left out (and its entry dropped), ms */
  readonly timeoutMs: number;
  /** told about an entry that cannot be read (written by something else); it is left out of the list */
  readonly onBadEntry?: ((reason: string) => void) | undefined;
}

const beatScript = luaScript('process-beat-2');
const listScript = luaScript('process-list-2');
const removeScript = luaScript('process-remove-2');

/**
 * The Scalable ProcessRegistry: a hash of entries (instance id → JSON) and a zset of heartbeat times (Redis clock, so
 * the processes' clocks do not matter), both in the queue's hash tag (see redis-keys.ts). A process that dies leaves
 * its entry behind until it is older than the timeout: the list skips it at once, and the next heartbeat of any
 * process deletes it.
 */
export class RedisProcessRegistry implements ProcessRegistry {
  private readonly connection: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly options: RedisProcessRegistryOptions) {
    if (!(options.timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.keys = new RedisKeys(options.keyPrefix);
    this.timeoutMs = Math.ceil(options.timeoutMs);
    this.connection = new RedisConnection(options.redis, true, [beatScript, listScript, removeScript]);
  }

  async heartbeat(info: ProcessInfo): Promise<void> {
    this.assertOpen();
    const keys = [this.keys.processes, this.keys.heartbeats];
    await this.connection.run((client) =>
      beatScript.run(client, keys, [info.instanceId, formatProcessInfo(info), this.timeoutMs]),
    );
  }

  async list(): Promise<LiveProcess[]> {
    this.assertOpen();
    const keys = [this.keys.processes, this.keys.heartbeats];
    const reply = redisReply.array(
      await this.connection.run((client) => listScript.run(client, keys, [this.timeoutMs])),
    );
    const live: LiveProcess[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      try {
        const info = parseProcessInfo(redisReply.bytes(reply[i]).toString());
        live.push({ ...info, lastHeartbeat: redisReply.number(reply[i + 1]) });
      } catch (err) {
        this.options.onBadEntry?.(err instanceof Error ? err.message : String(err));
      }
    }
    return live.sort(byKindAndStart);
  }

  async remove(instanceId: string): Promise<void> {
    this.assertOpen();
    const keys = [this.keys.processes, this.keys.heartbeats];
    await this.connection.run((client) => removeScript.run(client, keys, [instanceId]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connection.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the process registry is closed');
  }
}
