import { UnavailableError } from '../../core/src/index.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Connections for blocking reads: a connection blocked in BLPOP serves nobody else, so each read in flight gets its
 * own, taken from the idle ones or opened for it, and kept for the next read afterwards. close() drops them all at
 * once, which ends the reads in flight.
 */
export class RedisBlockerPool {
  private readonly idle: RedisConnection[] = [];
  private readonly busy = new Set<RedisConnection>();
  private closed = false;

  /** @param base the connection whose address and options the blocking connections copy */
  constructor(private readonly base: RedisConnection) {}

  /**
   * Pops the head of the list `key`, waiting up to `timeoutMs` (Redis ends a blocking wait on its own clock tick, so
   * up to about 100 ms later). Resolves whether it popped something; rejects with UnavailableError.
   */
  async pop(key: string, timeoutMs: number): Promise<boolean> {
    if (this.closed) throw new UnavailableError('the blocking connections are closed');
    const connection = this.idle.pop() ?? this.base.duplicate(false);
    this.busy.add(connection);
    let healthy = false;
    try {
      const seconds = Math.max(1, Math.ceil(timeoutMs)) / 1_000;
      const popped = await connection.run(
        (client) => client.blpop(key, seconds),
        timeoutMs + this.base.commandTimeoutMs,
      );
      healthy = true;
      return popped !== null;
    } finally {
      this.busy.delete(connection);
      if (healthy && !this.closed) this.idle.push(connection);
      else connection.disconnect();
    }
  }

  /** Connections idle and blocked, for leak checks. */
  get size(): { idle: number; busy: number } {
    return { idle: this.idle.length, busy: this.busy.size };
  }

  close(): void {
    this.closed = true;
    for (const connection of [...this.idle, ...this.busy]) connection.disconnect();
    this.idle.length = 0;
  }
}
