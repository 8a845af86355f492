/**
 * Leases one of the NODE_ID_COUNT node ids in Redis for this process, so that processes sharing a cluster generate
 * distinct job ids (the node id is part of every TimeOrderedIdGenerator id).
 *
 * A lease is a key `<prefix>:node:<n>` holding this process's random token with a TTL; it is renewed at a third of
 * the TTL and deleted on release. A process that dies frees its id when the TTL passes. If renewal finds the key
 * taken by someone else (this process was cut off for longer than the TTL), `lost` fires: the owner must stop
 * generating ids.
 *
 * State machine: acquire() → 'held' → release() → 'released' (or 'lost').
 */
import { randomBytes } from 'node:crypto';
import { NODE_ID_COUNT, UnavailableError } from '../../core/src/index.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';

export interface NodeIdLeaseOptions {
  readonly redis: RedisConnectionOptions;
  readonly keyPrefix: string;
  /** @default 30000 */
  readonly ttlMs?: number;
  /** called when a renewal finds the lease lost */
  readonly onLost?: (nodeId: number) => void;
}

const RENEW_IF_MINE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const DELETE_IF_MINE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class NodeIdLease {
  private released = false;

  private constructor(
    readonly nodeId: number,
    private readonly key: string,
    private readonly token: string,
    private readonly connection: RedisConnection,
    private readonly timer: NodeJS.Timeout,
  ) {}

  get state(): 'held' | 'released' {
    return this.released ? 'released' : 'held';
  }

  /** Takes the first free node id; UnavailableError when all are taken or Redis cannot be reached. */
  static async acquire(options: NodeIdLeaseOptions): Promise<NodeIdLease> {
    const ttlMs = options.ttlMs ?? 30_000;
    const connection = new RedisConnection(options.redis, false);
    const token = randomBytes(12).toString('hex');
    const start = Math.floor(Math.random() * NODE_ID_COUNT);
    try {
      for (let i = 0; i < NODE_ID_COUNT; i++) {
        const nodeId = (start + i) % NODE_ID_COUNT;
        const key = `${options.keyPrefix}:node:${nodeId}`;
        const ok = await connection.run((c) => c.set(key, token, 'PX', ttlMs, 'NX'));
        if (ok !== 'OK') continue;
        const holder: { lease?: NodeIdLease } = {};
        const timer = setInterval(() => {
          void holder.lease?.renew(ttlMs, options.onLost);
        }, Math.max(1000, Math.floor(ttlMs / 3)));
        timer.unref();
        holder.lease = new NodeIdLease(nodeId, key, token, connection, timer);
        return holder.lease;
      }
    } catch (err) {
      await connection.close();
      throw err;
    }
    await connection.close();
    throw new UnavailableError(
      `all ${NODE_ID_COUNT} node ids are leased in Redis (${options.keyPrefix}:node:*): too many processes share this cluster`,
    );
  }

  private async renew(ttlMs: number, onLost: ((nodeId: number) => void) | undefined): Promise<void> {
    if (this.released) return;
    try {
      const kept = await this.connection.run((c) => c.eval(RENEW_IF_MINE, 1, this.key, this.token, String(ttlMs)));
      if (kept !== 1 && !this.released) onLost?.(this.nodeId);
    } catch {
      // Redis is down: the next renewal tries again; the TTL covers short outages
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    try {
      await this.connection.run((c) => c.eval(DELETE_IF_MINE, 1, this.key, this.token));
    } catch {
      // the TTL frees it
    }
    await this.connection.close();
  }
}
