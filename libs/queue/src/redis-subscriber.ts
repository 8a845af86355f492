import type { EventEmitter } from 'node:events';
import { once } from 'node:events';
import type { RedisConnection } from './redis-connection.js';

/** The listeners of one pub/sub channel and the SUBSCRIBE that serves them. */
interface Subscription {
  readonly listeners: Set<(message: Buffer) => void>;
  readonly subscribed: Promise<void>;
}

/**
 * One subscriber connection shared by many listeners: a channel is subscribed when its first listener comes and
 * unsubscribed when its last one leaves. Works on a Cluster too (classic pub/sub reaches every node). ioredis
 * subscribes again after a reconnect; what was published while the connection was down is lost, so users keep a
 * backstop (a kept result they can read).
 */
export class RedisSubscriber {
  private readonly subscriptions = new Map<string, Subscription>();

  /** @param connection a connection of its own: once subscribed, it serves nothing else */
  constructor(private readonly connection: RedisConnection) {
    (connection.client as EventEmitter).on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const subscription = this.subscriptions.get(channel.toString());
      if (subscription !== undefined) for (const listener of subscription.listeners) listener(message);
    });
  }

  /**
   * Calls `listener` with every message on `channel` from the moment the returned promise resolves (the channel is
   * then subscribed in Redis). Returns the unsubscribe function; calling it again does nothing.
   */
  async subscribe(channel: string, listener: (message: Buffer) => void): Promise<() => Promise<void>> {
    let subscription = this.subscriptions.get(channel);
    if (subscription === undefined) {
      const created: Subscription = {
        listeners: new Set(),
        subscribed: this.connection.run(async (client) => {
          // A SUBSCRIBE queued while the connection is still connecting is sent before ioredis's ready check
          // (INFO), which subscriber mode then refuses: the failed check rejects every queued SUBSCRIBE. So wait
          // until the connection is ready before the first SUBSCRIBE goes out.
          if (client.status !== 'ready') await once(client as EventEmitter, 'ready');
          await client.subscribe(channel);
        }),
      };
      created.subscribed.catch(() => {
        if (this.subscriptions.get(channel) === created) this.subscriptions.delete(channel);
      });
      this.subscriptions.set(channel, created);
      subscription = created;
    }
    const entry = (message: Buffer): void => listener(message);
    subscription.listeners.add(entry);
    try {
      await subscription.subscribed;
    } catch (error) {
      subscription.listeners.delete(entry);
      throw error;
    }
    const joined = subscription;
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      joined.listeners.delete(entry);
      if (joined.listeners.size === 0 && this.subscriptions.get(channel) === joined) {
        this.subscriptions.delete(channel);
        await this.connection.run(async (client) => {
          await client.unsubscribe(channel);
        });
      }
    };
  }

  /** Channels subscribed now, for leak checks. */
  get size(): number {
    return this.subscriptions.size;
  }

  close(): Promise<void> {
    this.subscriptions.clear();
    return this.connection.close();
  }
}
