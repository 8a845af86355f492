import { InternalError } from '../../core/src/index.js';
import type { RedisClient } from './redis-connection.js';

/** An argument of a script call: keys and strings as they are, job and result payloads as bytes. */
export type RedisArg = string | number | Buffer;

/** How a script defined with ioredis' defineCommand is called (ioredis adds the method at run time, untyped). */
type ScriptCall = (...keysAndArgs: RedisArg[]) => Promise<unknown>;

/**
 * A Lua script the adapters run atomically in Redis. ioredis sends EVALSHA, and EVAL the first time on each
 * connection or after Redis forgot the script (NOSCRIPT), so a restarted Redis or a new Cluster node needs no setup.
 * All keys of one call must share a hash slot on a Cluster.
 */
export class RedisScript {
  /**
   * @param name unique among the scripts of one client
   * @param numberOfKeys how many leading arguments of a call are keys
   */
  constructor(
    readonly name: string,
    readonly numberOfKeys: number,
    readonly lua: string,
  ) {}

  /**
   * Adds the script to a client. Do it before the client sends anything: an auto-pipeline made earlier would not
   * know the script.
   */
  define(client: RedisClient): void {
    client.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
  }

  /** Runs the script on a client it was defined on; bulk replies come back as Buffers, integers as numbers. */
  run(client: RedisClient, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) {
      throw new InternalError(`script ${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    const call = (client as unknown as Record<string, ScriptCall | undefined>)[`${this.name}Buffer`];
    if (call === undefined) throw new InternalError(`script ${this.name} is not defined on this connection`);
    return call.call(client, ...keys, ...args);
  }
}
