/**
 * Health that follows the dependencies, in Scalable mode: a grpc-front and a worker share a private Redis and a
 * private MariaDB, which the test stops and starts again. While Redis is down the front's grpc.health.v1 answers
 * NOT_SERVING for the whole server and the job services (RunnerService and WorkerService, which need only the RDB,
 * stay SERVING), a Watch streams each change, and the worker's HTTP endpoint answers 503 naming Redis; once Redis is
 * back, everything is SERVING again without a restart. The same for the RDB, which every service needs. /livez stays
 * 200 throughout, and the jobworkerp-healthcheck command agrees with the endpoint.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthCheckResponse } from '../../libs/proto/src/index.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../../libs/proto/src/index.js';
import { call } from '../support/grpc-clients.js';
import type { MariaDbServer } from '../support/mariadb-server.js';
import { startMariaDbServer } from '../support/mariadb-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { startRedisServer } from '../support/redis-server.js';
import { findLogLine } from '../support/log-lines.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const run = promisify(execFile);
const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;
const REDIS_PASSWORD = `rpw${randomBytes(6).toString('hex')}`;
const MYSQL_ACCOUNT = { user: 'jw', password: `mpw${randomBytes(6).toString('hex')}` };
/** generous: a change shows within a check (Redis: at once; the RDB: within HEALTH_CHECK_INTERVAL_MS) */
const CHANGE_WITHIN_MS = 30_000;

const JOB_SERVICE = 'jobworkerp.service.JobService';
const JOB_RESULT_SERVICE = 'jobworkerp.service.JobResultService';
const RUNNER_SERVICE = 'jobworkerp.service.RunnerService';
const WORKER_SERVICE = 'jobworkerp.service.WorkerService';

interface EndpointAnswer {
  readonly code: number;
  readonly body: { status?: string; down?: string[]; dependencies?: { name: string; up: boolean; error?: string }[] };
  readonly text: string;
}

async function get(url: string): Promise<EndpointAnswer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { code: response.status, body: JSON.parse(text) as EndpointAnswer['body'], text };
}

/** The health endpoint's URL that a process printed at start. */
function endpointOf(process: ServerProcess): string {
  const url = findLogLine(process.output(), /health endpoint at (http:\/\/\S+)/)?.[1];
  if (url === undefined) throw new Error(`no health endpoint line in:\n${process.output()}`);
  return url;
}

/** Polls `probe` until it returns what `ok` accepts; fails with the last answer after CHANGE_WITHIN_MS. */
async function eventually<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + CHANGE_WITHIN_MS;
  let last: T | string = 'no answer yet';
  for (;;) {
    try {
      const value = await probe();
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/**
 * The jobworkerp-healthcheck command on a URL (none: the one HEALTH_ADDR in `env` points at): its exit code and what
 * it printed.
 */
async function healthcheck(
  url: string | undefined,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  try {
    const args = url === undefined ? [] : [url];
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/apps/healthcheck/main.js'), ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      timeout: 20_000,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, out: e.stderr ?? '' };
  }
}

describe('Scalable: health follows Redis and the RDB', () => {
  let redis: RedisServer | undefined;
  let maria: MariaDbServer | undefined;
  let front: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  let health: HealthClient | undefined;
  let watch: ClientReadableStream<HealthCheckResponse> | undefined;
  /** what the Watch on the whole server streamed */
  const watched: HealthCheckResponse_ServingStatus[] = [];

  beforeAll(async () => {
    redis = await startRedisServer(REDIS_PASSWORD);
    maria = await startMariaDbServer(MYSQL_ACCOUNT);
    const env = {
      STORAGE_TYPE: 'Scalable',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `jwhealth-${randomBytes(4).toString('hex')}`,
      MYSQL_HOST: maria.host,
      MYSQL_PORT: String(maria.port),
      MYSQL_USER: MYSQL_ACCOUNT.user,
      MYSQL_PASSWORD: MYSQL_ACCOUNT.password,
      MYSQL_DBNAME: 'jw_health',
      HEALTH_ADDR: '127.0.0.1:0',
      HEALTH_CHECK_INTERVAL_MS: '1000',
      WORKER_DEFAULT_CONCURRENCY: '2',
      SHUTDOWN_GRACE_PERIOD_MS: '1000',
      LOG_LEVEL: 'info',
    };
    front = await startServer({ app: 'grpc-front', env });
    worker = await startServer({ app: 'worker', env });
    health = new HealthClient(front.address, credentials.createInsecure());
    watch = health.watch({ service: '' });
    watch.on('data', (r: HealthCheckResponse) => watched.push(r.status));
    // a cancelled Watch ends with an error: expected
    watch.on('error', () => undefined);
  }, 90_000);

  afterAll(async () => {
    watch?.cancel();
    health?.close();
    await Promise.all([front?.stop(5_000), worker?.stop(5_000)]);
    await redis?.cleanup();
    await maria?.cleanup();
  });

  const status = async (service: string): Promise<HealthCheckResponse_ServingStatus> =>
    (await call(health!, 'check', { service })).status;
  const statuses = async (): Promise<Record<string, HealthCheckResponse_ServingStatus>> => {
    const names = ['', JOB_SERVICE, JOB_RESULT_SERVICE, RUNNER_SERVICE, WORKER_SERVICE];
    const answers = await Promise.all(names.map(status));
    return Object.fromEntries(names.map((name, i) => [name, answers[i]!]));
  };
  const allServing = (s: Record<string, HealthCheckResponse_ServingStatus>): boolean =>
    Object.values(s).every((v) => v === SERVING);

  it('answers SERVING everywhere while Redis and the RDB run', async () => {
    expect(allServing(await statuses())).toBe(true);
    for (const p of [front!, worker!]) {
      const answer = await get(`${endpointOf(p)}/healthz`);
      expect(answer.code).toBe(200);
      expect(answer.body.status).toBe('SERVING');
      expect(answer.body.dependencies?.map((d) => [d.name, d.up])).toEqual([
        ['redis', true],
        ['rdb', true],
      ]);
    }
    expect((await healthcheck(`${endpointOf(worker!)}/healthz`)).code).toBe(0);
    // with no argument, as the image's HEALTHCHECK runs it in a worker's container: HEALTH_ADDR says where to ask
    const port = new URL(endpointOf(worker!)).port;
    const byDefault = await healthcheck(undefined, { HEALTH_ADDR: `0.0.0.0:${port}` });
    expect(byDefault).toEqual({ code: 0, out: `http://127.0.0.1:${port}/healthz: SERVING\n` });
    await eventually(
      'the Watch streams SERVING',
      async () => watched,
      (w) => w.length > 0,
    );
    expect(watched).toEqual([SERVING]);
  });

  it('turns NOT_SERVING while Redis is down (the RDB-only services stay SERVING), and SERVING when it is back', async () => {
    await redis!.stop('SIGKILL');
    const down = await eventually('the front reports Redis down', statuses, (s) => s[''] === NOT_SERVING);
    expect(down).toEqual({
      '': NOT_SERVING,
      [JOB_SERVICE]: NOT_SERVING,
      [JOB_RESULT_SERVICE]: NOT_SERVING,
      [RUNNER_SERVICE]: SERVING,
      [WORKER_SERVICE]: SERVING,
    });
    const endpoint = endpointOf(worker!);
    const answer = await eventually(
      "the worker's endpoint reports Redis down",
      () => get(`${endpoint}/healthz`),
      (a) => a.code === 503,
    );
    expect(answer.body).toMatchObject({ status: 'NOT_SERVING', down: ['redis'] });
    expect(answer.body.dependencies?.find((d) => d.name === 'redis')?.error).toContain(redis!.address);
    expect(answer.text).not.toContain(REDIS_PASSWORD);
    expect((await get(`${endpoint}/livez`)).code).toBe(200);
    const check = await healthcheck(endpoint);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(/NOT_SERVING; redis down/);

    await redis!.start();
    await eventually('the front reports SERVING again', statuses, allServing);
    await eventually(
      "the worker's endpoint reports SERVING again",
      () => get(`${endpoint}/healthz`),
      (a) => a.code === 200,
    );
    expect((await healthcheck(endpoint)).code).toBe(0);
    await eventually(
      'the Watch streams the change back',
      async () => watched,
      (w) => w.length >= 3,
    );
    expect(watched).toEqual([SERVING, NOT_SERVING, SERVING]);
  });

  it('turns every service NOT_SERVING while the RDB is down, and SERVING when it is back', async () => {
    await maria!.stop('SIGTERM');
    const down = await eventually('the front reports the RDB down', statuses, (s) =>
      Object.values(s).every((v) => v === NOT_SERVING),
    );
    expect(Object.keys(down)).toHaveLength(5);
    const endpoint = endpointOf(worker!);
    const answer = await eventually(
      "the worker's endpoint reports the RDB down",
      () => get(`${endpoint}/healthz`),
      (a) => a.code === 503,
    );
    expect(answer.body).toMatchObject({ status: 'NOT_SERVING', down: ['rdb'] });
    expect(answer.text).not.toContain(MYSQL_ACCOUNT.password);
    expect((await get(`${endpoint}/livez`)).code).toBe(200);

    await maria!.start();
    await eventually('the front reports SERVING again', statuses, allServing);
    await eventually(
      "the worker's endpoint reports SERVING again",
      () => get(`${endpoint}/healthz`),
      (a) => a.code === 200,
    );
    await eventually(
      'the Watch streams the change back',
      async () => watched,
      (w) => w.length >= 5,
    );
    expect(watched).toEqual([SERVING, NOT_SERVING, SERVING, NOT_SERVING, SERVING]);
  });

  it('logged each transition once per process, without a password', () => {
    for (const p of [front!, worker!]) {
      const out = p.output();
      expect(out.match(/redis does not answer/g)).toHaveLength(1);
      expect(out.match(/redis answers again/g)).toHaveLength(1);
      expect(out.match(/rdb does not answer/g)).toHaveLength(1);
      expect(out.match(/rdb answers again/g)).toHaveLength(1);
      expect(out).not.toContain(REDIS_PASSWORD);
      expect(out).not.toContain(MYSQL_ACCOUNT.password);
    }
  });

  it('answers 404 outside /healthz and /livez, and 405 to methods other than GET and HEAD', async () => {
    const endpoint = endpointOf(worker!);
    expect((await get(`${endpoint}/nowhere`)).code).toBe(404);
    const post = await fetch(`${endpoint}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    await post.text();
    const head = await fetch(`${endpoint}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
