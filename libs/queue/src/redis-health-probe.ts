import { Cluster } from 'ioredis';
import { UnavailableError } from '../../core/src/index.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';

/**
 * Whether this process reaches Redis, for its health reports.
 *
 * The probe holds a connection of its own, to the same Redis (single or Cluster) with the same options as the
 * adapters' connections, so it loses Redis when they do and gets it back when they do. Asking the adapters instead
 * would need a hook in each of them (queue, state store, result bus, wake channel, node-id lease, subscribers) for
 * no better answer: they all talk to the same address. Its connection events ('close', 'ready') come at once, so a
 * health monitor can check right then instead of waiting for its next periodic check.
 */
export class RedisHealthProbe {
  private readonly connection: RedisConnection;

  constructor(options: RedisConnectionOptions) {
    // no auto-pipelining: one PING at a time, never queued behind other calls
    this.connection = new RedisConnection(options, false);
  }

  /** host:port (a comma list for a Cluster), without credentials */
  get address(): string {
    return this.connection.address;
  }

  /**
   * Tells `listener` when the connection is lost (false) or ready again (true): a hint to check now, not a verdict
   * (a lost connection may come back in a moment). Returns a function that stops the calls.
   */
  onChange(listener: (connected: boolean) => void): () => void {
    const { client } = this.connection;
    const lost = (): void => listener(false);
    const ready = (): void => listener(true);
    client.on('close', lost);
    client.on('ready', ready);
    return () => {
      client.off('close', lost);
      client.off('ready', ready);
    };
  }

  /**
   * Resolves when Redis answers within `timeoutMs`: a PING for a single Redis; for a Cluster, the cluster's own state
   * (`cluster_state:ok`, which a master without a replica to take over loses) and a PING to every master the
   * connection knows. Rejects with an UnavailableError that names the address and the reason, never the password.
   */
  async check(timeoutMs: number): Promise<void> {
    await this.connection.run(async (client) => {
      if (!(client instanceof Cluster)) {
        await client.ping();
        return;
      }
      const info = String(await client.cluster('INFO'));
      const state = /cluster_state:(\w+)/.exec(info)?.[1];
      if (state !== 'ok') {
        throw new UnavailableError(`redis cluster at ${this.address} reports cluster_state:${state ?? 'unknown'}`);
      }
      await Promise.all(client.nodes('master').map((node) => node.ping()));
    }, timeoutMs);
  }

  /** Closes the probe's connection. */
  close(): Promise<void> {
    return this.connection.close();
  }
}
