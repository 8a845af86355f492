import type { JobStatus } from '../../core/src/index.js';
import { InvalidArgumentError, UnavailableError } from '../../core/src/index.js';
import type { JobStateStore } from './ports.js';
import type { RedisConnectionOptions } from './redis-connection.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { redisReply } from './redis-reply.js';
import { luaScript } from './redis-lua.js';
import { RedisSubscriber } from './redis-subscriber.js';
import { warnHandlerError } from './warn-handler-error.js';

export interface RedisJobStateStoreOptions {
  readonly redis: RedisConnectionOptions;
  /** The namespace of every key (REDIS_KEY_PREFIX); no braces or glob characters. */
  readonly keyPrefix: string;
  /** Told when an onCancel handler throws; the other handlers still run. @default a process warning */
  readonly onHandlerError?: ((error: unknown) => void) | undefined;
}

const acquireUniqScript = luaScript('uniq-acquire-1');
const releaseUniqScript = luaScript('uniq-release-1');

/**
 * The Scalable JobStateStore (key layout in redis-keys.ts): statuses in one hash and uniq keys in another (uniq key
 * → job id), both in the queue's hash tag so the queue's scripts change them in the same step as a job (enqueue
 * reserves a uniq key, complete frees it). A uniq key has no TTL: it is released when the job is final (a TTL could
 * free it under a job that still waits or runs, and let a duplicate in); a cancellation is a mark that expires after
 * its TTL plus a message on the cancel channel, which every process hears.
 */
export class RedisJobStateStore implements JobStateStore {
  private readonly connection: RedisConnection;
  /** opened by the first onCancel */
  private subscriber: RedisSubscriber | undefined;
  private readonly keys: RedisKeys;
  private readonly onHandlerError: (error: unknown) => void;
  private closing: Promise<void> | undefined;

  constructor(options: RedisJobStateStoreOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    this.onHandlerError = options.onHandlerError ?? warnHandlerError;
    this.connection = new RedisConnection(options.redis, true, [acquireUniqScript, releaseUniqScript]);
  }

  async setStatus(jobId: number, status: JobStatus): Promise<void> {
    this.assertOpen();
    await this.connection.run((client) => client.hset(this.keys.status, String(jobId), String(status)));
  }

  async getStatus(jobId: number): Promise<JobStatus | undefined> {
    this.assertOpen();
    const status = await this.connection.run((client) => client.hget(this.keys.status, String(jobId)));
    return status === null ? undefined : (Number(status) as JobStatus);
  }

  async deleteStatus(jobId: number): Promise<void> {
    this.assertOpen();
    await this.connection.run((client) => client.hdel(this.keys.status, String(jobId)));
  }

  async listStatuses(): Promise<Array<{ jobId: number; status: JobStatus }>> {
    this.assertOpen();
    const all = await this.connection.run((client) => client.hgetall(this.keys.status));
    return Object.entries(all)
      .map(([jobId, status]) => ({ jobId: Number(jobId), status: Number(status) as JobStatus }))
      .sort((a, b) => a.jobId - b.jobId);
  }

  async acquireUniqKey(uniqKey: string, jobId: number): Promise<boolean> {
    this.assertOpen();
    const acquired = await this.connection.run((client) =>
      acquireUniqScript.run(client, [this.keys.uniq], [uniqKey, String(jobId)]),
    );
    return redisReply.number(acquired) === 1;
  }

  async releaseUniqKey(uniqKey: string, jobId: number): Promise<void> {
    this.assertOpen();
    await this.connection.run((client) => releaseUniqScript.run(client, [this.keys.uniq], [uniqKey, String(jobId)]));
  }

  /** Sets the mark before telling anyone, so a listener that checks isCancelled sees it. */
  async cancel(jobId: number, ttlMs: number, options?: { readonly announce: boolean }): Promise<void> {
    this.assertOpen();
    if (!(ttlMs > 0)) throw new InvalidArgumentError(`ttlMs must be > 0, got ${ttlMs}`);
    await this.connection.run((client) => client.set(this.keys.cancelled(jobId), '1', 'PX', Math.ceil(ttlMs)));
    if (options?.announce === false) return;
    await this.connection.run((client) => client.publish(this.keys.cancelChannel, String(jobId)));
  }

  async isCancelled(jobId: number): Promise<boolean> {
    this.assertOpen();
    return (await this.connection.run((client) => client.exists(this.keys.cancelled(jobId)))) === 1;
  }

  async onCancel(handler: (jobId: number) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    this.subscriber ??= new RedisSubscriber(this.connection.duplicate(false));
    return this.subscriber.subscribe(this.keys.cancelChannel, (message) => {
      try {
        handler(Number(message.toString()));
      } catch (error) {
        this.onHandlerError(error);
      }
    });
  }

  /** Closes the connections; later calls throw UnavailableError. */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.subscriber?.close(), this.connection.close()]).then(() => undefined);
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new UnavailableError('the job state store is closed');
  }
}
