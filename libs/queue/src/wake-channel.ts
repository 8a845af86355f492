/**
 * A hint that RDB rows became due now (a FORCED_RDB job, a retry without delay), so RDB pollers in every process
 * look at once instead of at their next tick. It is only a latency hint: pollers still poll on their interval, so a
 * lost hint delays a job by at most one fetch interval.
 */
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { RedisSubscriber } from './redis-subscriber.js';

export interface WakeChannel {
  /** Tells every listener (fire and forget). */
  notify(): void;
  /** Calls the handler on each hint; returns an unsubscribe function. */
  onWake(handler: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** In one process (Standalone). */
export class MemoryWakeChannel implements WakeChannel {
  private readonly handlers = new Set<() => void>();

  notify(): void {
    for (const h of this.handlers) h();
  }

  async onWake(handler: () => void): Promise<() => Promise<void>> {
    const entry = (): void => handler();
    this.handlers.add(entry);
    return async () => {
      this.handlers.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

/** Across processes through Redis pub/sub; hints sent in one event-loop turn are published once. */
export class RedisWakeChannel implements WakeChannel {
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisSubscriber;
  private readonly subscriberConnection: RedisConnection;
  private readonly channel: string;
  private pending = false;

  constructor(options: { redis: RedisConnectionOptions; keyPrefix: string }) {
    this.publisher = new RedisConnection(options.redis, true);
    this.subscriberConnection = new RedisConnection(options.redis, false);
    this.subscriber = new RedisSubscriber(this.subscriberConnection);
    this.channel = new RedisKeys(options.keyPrefix).dueRowsChannel;
  }

  notify(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      // a lost hint only costs latency: pollers poll on their interval anyway
      this.publisher.run((c) => c.publish(this.channel, '1')).catch(() => undefined);
    });
  }

  onWake(handler: () => void): Promise<() => Promise<void>> {
    return this.subscriber.subscribe(this.channel, () => handler());
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher.close(), this.subscriberConnection.close()]);
  }
}
