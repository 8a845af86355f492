/**
 * The compose files, run without Docker.
 *
 * docker-compose-scalable.yml: every app service starts as a local process with the service's own command and
 * environment (after compose's `${VAR:-default}` interpolation), and a job goes through the front to a worker. Only
 * what the machine imposes is changed: the service host names (redis, mariadb, grpc-front) become 127.0.0.1, the
 * front takes a free port, the MariaDB account is the test machine's, and the Redis key prefix and the database name
 * are this run's own (compose variables, set here as a user would in .env). This proves that the file's commands are
 * the package's programs and its variables are the ones the apps read.
 *
 * docker-compose.yml: the all-in-one starts the same way, its SQLite file lands in the volume's folder, and the
 * Dockerfile's HEALTHCHECK command answers SERVING.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { findLogLine } from '../support/log-lines.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const run = promisify(execFile);

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { replicas?: number };
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
}

/** compose's interpolation: ${NAME}, ${NAME:-default} (unset or empty), ${NAME-default} (unset), $$ */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (match, name?: string, op?: string, fallback?: string) => {
      if (name === undefined) return '$';
      const value = vars[name];
      if (op === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
      if (op === '-') return value ?? fallback ?? '';
      return value ?? '';
    },
  );
}

/** The variables libs/config reads: each appears there as a quoted name. */
const CONFIG_SOURCE = readFileSync(join(REPO_ROOT, 'libs/config/src/config.ts'), 'utf8');
const BINS = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;

/** A service's program as a local command: its first word is one of package.json's "bin" names. */
function localCommand(words: readonly string[]): [string, ...string[]] {
  const [program, ...args] = words;
  const file = program === undefined ? undefined : BINS[program];
  if (file === undefined) throw new Error(`"${program}" is not a program of package.json's "bin"`);
  return [process.execPath, join(REPO_ROOT, file), ...args];
}

/** The service's environment on this machine: host names to 127.0.0.1, the local MariaDB's root account. */
function localEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    expect(CONFIG_SOURCE.includes(`'${name}'`), `${name} is not read by libs/config`).toBe(true);
    env[name] = String(value ?? '');
  }
  if (env['REDIS_URL'] !== undefined) env['REDIS_URL'] = env['REDIS_URL'].replace('//redis:', '//127.0.0.1:');
  if (env['MYSQL_HOST'] === 'mariadb') env['MYSQL_HOST'] = '127.0.0.1';
  // the test machine's MariaDB account: root, no password
  if (env['MYSQL_USER'] !== undefined) env['MYSQL_USER'] = 'root';
  if (env['MYSQL_PASSWORD'] !== undefined) env['MYSQL_PASSWORD'] = '';
  if (env['GRPC_ADDR'] !== undefined) env['GRPC_ADDR'] = '127.0.0.1:0';
  // replicas share one machine here: each takes a free port (and prints it)
  if (env['HEALTH_ADDR'] !== undefined) env['HEALTH_ADDR'] = '127.0.0.1:0';
  if (env['METRICS_ADDR'] !== undefined) env['METRICS_ADDR'] = '127.0.0.1:0';
  // info: the processes' start lines (ports, endpoints) are info lines
  return { ...env, LOG_LEVEL: 'info', WORKER_DEFAULT_CONCURRENCY: '2' };
}

/** A compose file after interpolation with `dotenv` (what a user would put in .env). */
function loadCompose(file: string, dotenv: Record<string, string>): ComposeFile {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return parse(interpolate(text, dotenv), { merge: true }) as ComposeFile;
}

describe('docker-compose-scalable.yml as local processes', () => {
  let db: { name: string; drop(): Promise<void> };
  const prefix = `jwtest-compose-${randomBytes(4).toString('hex')}`;
  const processes: ServerProcess[] = [];
  let compose: ComposeFile;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    compose = loadCompose('docker-compose-scalable.yml', { MYSQL_DBNAME: db.name, REDIS_KEY_PREFIX: prefix });
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await db?.drop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, prefix);
  });

  it('describes Redis with AOF, MariaDB, and fronts and workers waiting for both to be healthy', () => {
    const { redis, mariadb, worker } = compose.services;
    expect(redis?.image).toMatch(/^redis:/);
    expect(redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis?.healthcheck?.test).toBeDefined();
    expect(mariadb?.image).toMatch(/^mariadb:/);
    expect(mariadb?.healthcheck?.test).toBeDefined();
    for (const name of ['grpc-front', 'worker']) {
      expect(compose.services[name]?.depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        mariadb: { condition: 'service_healthy' },
      });
    }
    expect(worker?.deploy?.replicas).toBeGreaterThan(1);
  });

  it('runs a job sent to the front by the client service on a worker', async () => {
    const apps = Object.entries(compose.services).filter(
      ([, s]) => s.image?.startsWith('jobworkerp-ts:') === true && s.profiles === undefined,
    );
    expect(apps.map(([name]) => name).sort()).toEqual(['grpc-front', 'worker']);
    const front = compose.services['grpc-front']!;
    const frontProcess = await startServer({
      app: 'grpc-front',
      command: localCommand(front.command ?? []),
      env: localEnv(front),
      startTimeoutMs: 60_000,
    });
    processes.push(frontProcess);
    const worker = compose.services['worker']!;
    for (let i = 0; i < (worker.deploy?.replicas ?? 1); i++) {
      processes.push(
        await startServer({
          app: 'worker',
          command: localCommand(worker.command ?? []),
          env: localEnv(worker),
          startTimeoutMs: 60_000,
        }),
      );
    }

    // the worker service's health check, run as in its container against each worker's endpoint
    const check = worker.healthcheck?.test ?? [];
    expect(check[0]).toBe('CMD');
    for (const p of processes.slice(1)) {
      const endpoint = findLogLine(p.output(), /health endpoint at http:\/\/(\S+)/)?.[1];
      expect(endpoint, 'a worker prints its health endpoint').toBeDefined();
      const [node, ...args] = localCommand(check.slice(1).map((w) => w.replace(/\/\/[^/]+\//, `//${endpoint}/`)));
      const { stdout } = await run(node, args, { timeout: 30_000 });
      expect(stdout.trim()).toBe(`http://${endpoint}/healthz: SERVING`);
    }
    // every process serves its metrics (METRICS_ADDR is on in the file)
    for (const p of processes) {
      const metrics = findLogLine(p.output(), /metrics endpoint at (http:\/\/\S+)/)?.[1];
      expect(metrics, 'a process prints its metrics endpoint').toBeDefined();
      expect((await fetch(metrics!)).status).toBe(200);
    }

    const client = compose.services['client']!;
    const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
      const words = (client.entrypoint ?? []).map((w) => w.replace('//grpc-front:9000', `//${frontProcess.address}`));
      const [node, ...rest] = localCommand([...words, '--format', 'json', ...args]);
      const { stdout } = await run(node, rest, {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        timeout: 30_000,
      });
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    await cli('worker', 'create', '-n', 'echo', '-r', 'COMMAND', '-s', '{"name":"echo"}', '--store-success');
    const result = await cli('job', 'enqueue', '-w', 'echo', '-a', '{"args":["through","compose"]}');
    expect(result).toMatchObject({ status: 'SUCCESS', output: ['through compose\n'] });
  });
});

describe('docker-compose.yml as a local process', () => {
  let server: ServerProcess | undefined;
  let volume: string | undefined;
  afterAll(async () => {
    await server?.stop();
    if (volume !== undefined) rmSync(volume, { recursive: true, force: true });
  });

  it("starts the all-in-one with the service's command and environment; the image's health check answers", async () => {
    const service = loadCompose('docker-compose.yml', {}).services['all-in-one']!;
    // a temp folder stands for the named volume, at the path where the service mounts it
    const [, mountPath] = (service.volumes?.[0] ?? '').split(':');
    expect(mountPath).toBe('/app/data');
    volume = mkdtempSync(join(tmpdir(), 'jw-compose-volume-'));
    const env = localEnv(service);
    expect(env['SQLITE_URL']?.startsWith(`${mountPath}/`)).toBe(true);
    env['SQLITE_URL'] = env['SQLITE_URL']!.replace(mountPath!, volume);
    server = await startServer({ command: localCommand(service.command ?? []), env, startTimeoutMs: 60_000 });
    expect(readdirSync(volume)).toContain('jobworkerp.sqlite3');
    expect(service.environment?.['METRICS_ADDR']).toBeDefined();
    const metrics = findLogLine(server.output(), /metrics endpoint at (http:\/\/\S+)/)?.[1];
    expect((await fetch(metrics ?? 'http://127.0.0.1:1/')).status).toBe(200);

    // the Dockerfile's HEALTHCHECK command, run as in the container: it finds the port in GRPC_ADDR
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const healthcheck = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    const [node, ...args] = localCommand(JSON.parse(healthcheck ?? '[]') as string[]);
    const { stdout } = await run(node, args, { env: { GRPC_ADDR: `0.0.0.0:${server.port}` }, timeout: 30_000 });
    expect(stdout.trim()).toBe(`127.0.0.1:${server.port}: SERVING`);
  });
});
