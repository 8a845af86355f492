/**
 * Leases one of the NODE_ID_COUNT node ids in Redis for this process and issues the process's job ids from it, so
 * that processes sharing a cluster generate distinct ids (the node id is part of every TimeOrderedIdGenerator id).
 *
 * A lease is a key `<prefix>:node:<n>` holding this process's random token with a TTL, renewed every third of the
 * TTL (after a failed renewal, every `retryMs`). Ids are issued only while the lease is known to hold: until one TTL
 * after the start of the last renewal that succeeded. Redis expires the key no earlier than that, so no other process
 * can take the node id while this one still issues ids from it.
 *
 * The lease is lost when that time passes without a successful renewal (Redis unreachable) or when a renewal finds
 * the key taken by another process. While it is lost, next() throws UnavailableError (Enqueue answers UNAVAILABLE),
 * and every `retryMs` the process tries to lease a node id again: the same one if it is free (or still its own),
 * otherwise another free one. Ids keep increasing across a change of node id. A key that disappeared (deleted, or a
 * Redis restarted without its data) is simply set again by the next renewal.
 *
 * State machine: acquire() → 'held' ⇄ 'lost' → release() → 'released'.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { IdGenerator } from '../../core/src/index.js';
import { NODE_ID_COUNT, TimeOrderedIdGenerator, UnavailableError } from '../../core/src/index.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { luaScript } from './redis-lua.js';

export interface NodeIdLeaseOptions {
  readonly redis: RedisConnectionOptions;
  readonly keyPrefix: string;
  /** how long the key lives without renewal, ms. @default 30000 */
  readonly ttlMs?: number;
  /** pause between attempts after a failed renewal or while the lease is lost, ms. @default min(1000, ttlMs / 3) */
  readonly retryMs?: number;
  /** called when the lease is lost: this process stops issuing ids */
  readonly onLost?: (nodeId: number, reason: string) => void;
  /** called when a lost lease is held again (`nodeId` may differ from the lost one) */
  readonly onRegained?: (nodeId: number) => void;
}

export type NodeIdLeaseState = 'held' | 'lost' | 'released';

/** Renews the key if it holds our token, sets it if it is free: 1; leaves a key held by another process: 0. */
const claimOrKeepScript = luaScript('node-id-claim-1');
const deleteIfMineScript = luaScript('node-id-release-1');

export class NodeIdLease implements IdGenerator {
  private stateValue: NodeIdLeaseState = 'lost';
  private nodeIdValue = -1;
  private generator: TimeOrderedIdGenerator | undefined;
  /** performance.now() up to which ids may be issued */
  private validUntil = 0;
  private lostReason = 'no node id leased yet';
  private timer: NodeJS.Timeout | undefined;
  private readonly token = randomBytes(12).toString('hex');
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;

  private constructor(
    private readonly options: NodeIdLeaseOptions,
    private readonly keys: RedisKeys,
    private readonly connection: RedisConnection,
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.renewMs = Math.max(100, Math.floor(this.ttlMs / 3));
    this.retryMs = options.retryMs ?? Math.min(1000, this.renewMs);
  }

  /** The node id in use (or last used, while the lease is lost). */
  get nodeId(): number {
    return this.nodeIdValue;
  }

  get state(): NodeIdLeaseState {
    if (this.stateValue === 'held' && performance.now() >= this.validUntil) return 'lost';
    return this.stateValue;
  }

  /** Takes a free node id; UnavailableError when all are taken or Redis cannot be reached. */
  static async acquire(options: NodeIdLeaseOptions): Promise<NodeIdLease> {
    const lease = new NodeIdLease(
      options,
      new RedisKeys(options.keyPrefix),
      new RedisConnection(options.redis, false, [claimOrKeepScript, deleteIfMineScript]),
    );
    try {
      if (!(await lease.claim())) {
        throw new UnavailableError(
          `all ${NODE_ID_COUNT} node ids are leased in Redis (${options.keyPrefix}:node:*): too many processes share this cluster`,
        );
      }
    } catch (err) {
      await lease.connection.close();
      throw err;
    }
    lease.schedule(lease.renewMs);
    return lease;
  }

  /** The next job id; UnavailableError while the lease is lost or released. */
  next(): number {
    const state = this.state;
    if (state === 'held' && this.generator !== undefined) return this.generator.next();
    throw new UnavailableError(
      state === 'released'
        ? 'this process is stopping: it issues no more job ids'
        : `this process lost its node id lease in Redis (${this.lostReason}); it issues no job ids until it leases ` +
            'one again, usually within seconds once Redis answers: retry shortly',
    );
  }

  async release(): Promise<void> {
    if (this.stateValue === 'released') return;
    const key = this.key(this.nodeIdValue);
    this.stateValue = 'released';
    clearTimeout(this.timer);
    try {
      await this.connection.run((c) => deleteIfMineScript.run(c, [key], [this.token]));
    } catch {
      // the TTL frees it
    }
    await this.connection.close();
  }

  private key(nodeId: number): string {
    return this.keys.node(nodeId);
  }

  private schedule(ms: number): void {
    if (this.stateValue === 'released') return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stateValue === 'held') {
      const started = performance.now();
      try {
        const kept = await this.connection.run((c) =>
          claimOrKeepScript.run(c, [this.key(this.nodeIdValue)], [this.token, String(this.ttlMs)]),
        );
        if (this.stateValue !== 'held') return;
        if (kept === 1) {
          this.validUntil = started + this.ttlMs;
          this.schedule(this.renewMs);
          return;
        }
        this.markLost(`node id ${this.nodeIdValue} was taken by another process`);
      } catch (err) {
        if (this.stateValue !== 'held') return;
        if (performance.now() < this.validUntil) {
          this.schedule(this.retryMs);
          return;
        }
        this.markLost(
          `no renewal succeeded within ${this.ttlMs} ms: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    try {
      if (this.stateValue === 'lost' && (await this.claim())) {
        this.options.onRegained?.(this.nodeIdValue);
        this.schedule(this.renewMs);
        return;
      }
    } catch (err) {
      this.lostReason = err instanceof Error ? err.message : String(err);
    }
    this.schedule(this.retryMs);
  }

  private markLost(reason: string): void {
    this.stateValue = 'lost';
    this.lostReason = reason;
    this.options.onLost?.(this.nodeIdValue, reason);
  }

  /** Leases the node id used last if it is free (or still ours), else another free one; false when all are taken. */
  private async claim(): Promise<boolean> {
    const started = performance.now();
    const first = this.nodeIdValue >= 0 ? this.nodeIdValue : Math.floor(Math.random() * NODE_ID_COUNT);
    for (let i = 0; i < NODE_ID_COUNT; i++) {
      const nodeId = (first + i) % NODE_ID_COUNT;
      const got = await this.connection.run((c) =>
        claimOrKeepScript.run(c, [this.key(nodeId)], [this.token, String(this.ttlMs)]),
      );
      if (this.stateValue === 'released') return false;
      if (got !== 1) continue;
      if (this.generator === undefined) this.generator = new TimeOrderedIdGenerator(nodeId);
      else if (nodeId !== this.nodeIdValue) this.generator = this.generator.withNodeId(nodeId);
      this.nodeIdValue = nodeId;
      this.validUntil = started + this.ttlMs;
      this.stateValue = 'held';
      return true;
    }
    this.lostReason = `all ${NODE_ID_COUNT} node ids are leased by other processes`;
    return false;
  }
}
