/**
 * A private redis-server on a free loopback port for outage tests: append-only file fsynced at every write, so it
 * keeps every acknowledged write through SIGTERM and SIGKILL, password required. stop() and start() take it down
 * and bring it back on the same port and data folder; cleanup() kills it and removes the folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RestartableProcess } from './restartable-process.js';

const run = promisify(execFile);

export interface RedisServer {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly password: string;
  /** `redis://:<password>@127.0.0.1:<port>` for REDIS_URL */
  readonly url: string;
  readonly running: boolean;
  /** what redis-server printed over all its runs */
  output(): string;
  /** stops the server with `signal` and waits for its exit */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** starts it again on the same port and folder and waits until it answers PING (its data loaded) */
  start(): Promise<void>;
  /** stops it (SIGKILL) and removes its folder; safe to call twice */
  cleanup(): Promise<void>;
}

/** Starts the server; `password` must be URL-safe. */
export async function startRedisServer(password: string): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jw-redis-'));
  const port = await freePort();
  // the password goes in a file, not on a command line other processes can read
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync always',
      'save ""',
      'daemonize no',
      'logfile ""',
      `requirepass ${password}`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const server = new RestartableProcess('redis-server', 'redis-server', [conf]);
  const ping = async (): Promise<boolean> => {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], {
      env: { ...process.env, REDISCLI_AUTH: password },
    });
    return stdout.trim() === 'PONG';
  };
  const start = (): Promise<void> => server.start({ ready: ping, timeoutMs: 20_000 });
  const cleanup = async (): Promise<void> => {
    await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    port,
    address: `127.0.0.1:${port}`,
    password,
    url: `redis://:${password}@127.0.0.1:${port}`,
    get running() {
      return server.running;
    },
    output: () => server.output(),
    stop: (signal = 'SIGTERM') => server.stop(signal),
    start,
    cleanup,
  };
}
