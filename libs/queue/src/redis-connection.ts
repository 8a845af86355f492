import type { ClusterOptions, RedisOptions } from 'ioredis';
import { Cluster, Redis } from 'ioredis';
import { InvalidArgumentError, JobworkerpError, UnavailableError } from '../../core/src/index.js';
import type { RedisScript } from './redis-script.js';

/** Where Redis is and how to log in; the `redis` part of the Config fits it as is. */
export interface RedisConnectionOptions {
  /**
   * `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS; the scheme may be left out). With `cluster`, a
   * comma list of such addresses: the seed nodes.
   */
  readonly url: string;
  /** overrides a user name in the URL */
  readonly username?: string | undefined;
  /** overrides a password in the URL */
  readonly password?: string | undefined;
  /** `url` lists seed nodes of a Redis Cluster */
  readonly cluster: boolean;
  /**
   * A call that gets no reply within this long fails with UnavailableError (a backstop: a lost connection fails
   * calls after a few quick reconnection attempts anyway). @default 10000
   */
  readonly commandTimeoutMs?: number | undefined;
  /**
   * Told of every call Redis failed (the error run() throws), for the process's error counters; connections made
   * by duplicate() tell it too. Must not throw.
   */
  readonly onError?: ((error: UnavailableError) => void) | undefined;
}

/** The ioredis client under a connection. */
export type RedisClient = Redis | Cluster;

/** How long a connection may try to reconnect before its pending calls fail: attempts 100, 200, 300 ms apart. */
const RECONNECTS_PER_CALL = 3;
/**
 * The longest pause between reconnection attempts (a single Redis or a Cluster). ioredis counts attempts from the loss of the
 * connection, not per call, and fails the calls it holds at every (RECONNECTS_PER_CALL + 1)th attempt: with longer
 * pauses, calls made later in an outage would wait many seconds (up to the command timeout) instead of failing after
 * a few quick attempts. Redis coming back is noticed within this pause too.
 */
const RECONNECT_DELAY_MAX_MS = 300;
const CONNECT_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 1_000;

/**
 * One ioredis client (a single Redis or a Cluster) as the adapters use it: every call goes through run(), which
 * bounds its wait and turns whatever goes wrong into an UnavailableError that names the address and the reason
 * (`redis unavailable at 127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379`), never the password.
 *
 * A connection reconnects on its own; calls made while it is down wait for a few quick attempts, then fail.
 */
export class RedisConnection {
  /** host:port (a comma list for a Cluster), without credentials */
  readonly address: string;
  readonly client: RedisClient;
  /** how long a call waits for its reply by default, ms */
  readonly commandTimeoutMs: number;
  private readonly options: RedisConnectionOptions;
  private readonly autoPipelining: boolean;
  private readonly password: string | undefined;
  private lastError: Error | undefined;

  /**
   * @param autoPipelining send the calls made in one event-loop turn as one pipeline; leave it off for a
   * connection that blocks (BLPOP) or subscribes
   * @param scripts the Lua scripts the connection runs (defined before anything is sent)
   */
  constructor(options: RedisConnectionOptions, autoPipelining: boolean, scripts: readonly RedisScript[] = []) {
    this.options = options;
    this.autoPipelining = autoPipelining;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    const seeds = options.url.split(',').map((seed) => parseSeed(seed.trim()));
    const first = seeds[0] as Seed;
    this.password = options.password ?? first.password;
    this.address = options.cluster ? seeds.map((seed) => seed.address).join(',') : first.address;
    const common: RedisOptions = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: RECONNECTS_PER_CALL,
      ...definedOnly({ username: options.username ?? first.username, password: this.password }),
      ...(first.tls ? { tls: {} } : {}),
    };
    this.client = options.cluster
      ? new Cluster(
          seeds.map((seed) => ({ host: seed.host, port: seed.port })),
          {
            enableAutoPipelining: autoPipelining,
            clusterRetryStrategy: (times) => Math.min(times * 100, RECONNECT_DELAY_MAX_MS),
            redisOptions: common,
          } satisfies ClusterOptions,
        )
      : new Redis({
          ...common,
          host: first.host,
          port: first.port,
          db: first.db,
          enableAutoPipelining: autoPipelining,
          retryStrategy: (times) => Math.min(times * 100, RECONNECT_DELAY_MAX_MS),
        });
    for (const script of scripts) script.define(this.client);
    // a Cluster that reaches no node reports it with the last node's error attached
    const remember = (error: Error & { lastNodeError?: Error }): void => {
      this.lastError = error.lastNodeError ?? error;
    };
    // listening also keeps ioredis from printing every connection error
    this.client.on('error', remember);
    this.client.on('node error', remember);
    this.client.on('ready', () => {
      this.lastError = undefined;
    });
  }

  /**
   * Runs one call on the client. Rejects with UnavailableError when Redis fails it, the connection is lost, or no
   * reply comes within `timeoutMs`.
   */
  async run<T>(call: (client: RedisClient) => Promise<T>, timeoutMs = this.commandTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoReplyError(timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([call(this.client), deadline]);
    } catch (error) {
      const failure = this.unavailable(error);
      if (failure instanceof UnavailableError && !(error instanceof JobworkerpError)) this.options.onError?.(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new connection to the same Redis with the same options (for a blocking read or a subscriber), no scripts. */
  duplicate(autoPipelining = this.autoPipelining): RedisConnection {
    return new RedisConnection(this.options, autoPipelining);
  }

  /** Waits for the replies in flight (briefly), then closes the connection. */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      const quit = this.client.quit().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<false>((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS, false).unref());
      if (await Promise.race([quit, timedOut])) return;
    }
    this.disconnect();
  }

  /** Drops the connection at once; calls in flight fail. */
  disconnect(): void {
    this.client.disconnect();
  }

  private unavailable(error: unknown): Error {
    // our own typed errors (a script called wrongly, say) are not Redis's
    if (error instanceof JobworkerpError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const nodeError = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError;
    const connectionLost =
      error instanceof NoReplyError ||
      /max retries per request|connection is closed|failed to refresh slots cache|none of startup nodes/i.test(message);
    let reason = message;
    if (nodeError instanceof Error) {
      reason = nodeError.message;
    } else if (connectionLost && this.lastError !== undefined) {
      reason = error instanceof NoReplyError ? `${message} (${this.lastError.message})` : this.lastError.message;
    }
    if (/^connection is closed\.?$/i.test(reason)) {
      reason = 'the connection is closed; is Redis running and reachable there?';
    }
    if (this.password !== undefined && this.password !== '') reason = reason.split(this.password).join('***');
    return new UnavailableError(`redis unavailable at ${this.address}: ${reason}`, { cause: error });
  }
}

class NoReplyError extends Error {
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
  }
}

interface Seed {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly db: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

function parseSeed(seed: string): Seed {
  let url: URL;
  try {
    url = new URL(seed.includes('://') ? seed : `redis://${seed}`);
  } catch {
    throw new InvalidArgumentError(`redis address "${redactUserInfo(seed)}" is not a valid redis:// URL or host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidArgumentError(`redis address "${redactUserInfo(seed)}" must use redis:// or rediss://`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  return {
    host,
    port,
    address: `${url.hostname}:${port}`,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) || 0 : 0,
    tls: url.protocol === 'rediss:',
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

function redactUserInfo(seed: string): string {
  return seed.replace(/\/\/[^@/]*@/, '//***@');
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}
