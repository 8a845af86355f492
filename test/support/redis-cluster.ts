/**
 * A throwaway Redis Cluster on loopback for tests: `masters` redis-server children (no replicas, no persistence) in a
 * temp folder, joined with `redis-cli --cluster create`. Any test file or multi-process test can start one; stop()
 * kills the nodes and removes the folder.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** `127.0.0.1:<port>` of each master */
  readonly nodes: readonly string[];
  /** the nodes as REDIS_URL expects them with REDIS_CLUSTER=true: `redis://127.0.0.1:<port>,...` */
  readonly url: string;
  /** Kills every node and removes the temp folder; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** @default 3 (the fewest Redis accepts) */
  readonly masters?: number;
  /** how long the cluster may take to report cluster_state:ok. @default 20000 */
  readonly startTimeoutMs?: number;
}

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  const dir = mkdtempSync(join(tmpdir(), 'jw-redis-cluster-'));
  const children: ChildProcess[] = [];
  let logs = '';
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(killChild));
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i += 1) ports.push(await freeClusterPort(ports));
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (b: Buffer) => (logs += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
      children.push(child);
    }
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    for (const port of ports) await waitFor(() => cli(port, 'ping').then((out) => out === 'PONG'), deadline, 'ping');
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await waitFor(
        () => cli(port, 'cluster', 'info').then((out) => out.includes('cluster_state:ok')),
        deadline,
        'cluster_state:ok',
      );
    }
    return { nodes, url: nodes.map((node) => `redis://${node}`).join(','), stop };
  } catch (error) {
    await stop();
    throw new Error(`could not start a Redis Cluster: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A port that is free, and whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
