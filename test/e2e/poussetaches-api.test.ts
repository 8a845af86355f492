/**
 * The poussetaches HTTP push API against real processes, Standalone (all-in-one) and Scalable (grpc-front + worker on
 * MariaDB and Redis): a push retried until the receiver answers 200, a push that ends in /dead, a cron push that keeps
 * firing after the processes restart, the cluster-wide pause, and bad input answered with a 4xx and a message. The
 * receiver is a local HTTP server of the test.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { listenOnLoopback } from '../support/http-listen.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { findLogLine } from '../support/log-lines.js';

const AUTH_TOKEN = 'api-token-1';
const AUTH_KEY = 'shared-key-for-receivers';
const MAX_BODY = 4096;

interface Delivery {
  readonly path: string;
  readonly authKey: string | undefined;
  readonly envelope: { payload: string; tries: number; req_id: string };
}

interface Task {
  id: string;
  url: string;
  payload: string;
  expected: number;
  schedule: string;
  tries: number;
  last_error_status_code: number;
  last_error_body: string;
}

/** Waits until `check` returns a value (not undefined), looking again every 100 ms, for at most `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe.each(['all-in-one', 'Scalable'] as const)('poussetaches API (%s)', (mode) => {
  const deliveries: Delivery[] = [];
  /** how the receiver answers, per path: the status for the n-th delivery (1-based) */
  const answers = new Map<string, (n: number) => number>();
  let receiver: { port: number; close: () => Promise<void> };
  let processes: ServerProcess[] = [];
  let apiUrl = '';
  let db: { name: string; drop(): Promise<void> } | undefined;
  const prefix = `jwtest-pt-${randomBytes(4).toString('hex')}`;
  let dataDir: string | undefined;

  const env = (): Record<string, string> => ({
    POUSSETACHES_HTTP_ADDR: '127.0.0.1:0',
    POUSSETACHES_AUTH_KEY: AUTH_KEY,
    POUSSETACHES_MAX_TRIES: '3',
    POUSSETACHES_RETRY_BASE_MS: '100',
    POUSSETACHES_REQUEST_TIMEOUT_MS: '10000',
    // a channel of its own, so a pause holds none of the default channel's slots
    POUSSETACHES_CHANNEL: 'push',
    WORKER_CHANNELS: 'push',
    WORKER_CHANNEL_CONCURRENCIES: '4',
    AUTH_TOKEN,
    HTTP_MAX_BODY_BYTES: String(MAX_BODY),
    JOB_QUEUE_FETCH_INTERVAL: '200',
    ...(db === undefined ? {} : scalableEnv(db.name, prefix)),
  });

  /** Starts the processes (again, on the same data after a restart) and finds the API's URL. */
  async function start(): Promise<void> {
    if (mode === 'all-in-one') {
      const aio = await startServer({ env: env(), dataDir });
      dataDir = aio.dataDir;
      processes = [aio];
    } else {
      processes = [await startServer({ app: 'grpc-front', env: env() })];
      processes.push(await startServer({ app: 'worker', env: env() }));
    }
    const front = processes[0]!;
    apiUrl = await eventually(
      'the API listening line',
      async () => findLogLine(front.output(), /poussetaches API listening on (https?:\/\/\S+)/)?.[1],
    );
  }

  async function stop(): Promise<void> {
    for (const p of processes.reverse()) await p.stopKeepingData();
    processes = [];
  }

  /** A call to the API with the token (null: without one). */
  const api = (path: string, init: RequestInit = {}, token: string | null = AUTH_TOKEN): Promise<Response> =>
    fetch(`${apiUrl}${path}`, {
      ...init,
      headers: { ...(token === null ? {} : { 'jobworkerp-auth': token }), ...(init.headers ?? {}) },
    });

  async function push(body: unknown): Promise<string> {
    const res = await api('/', { method: 'POST', body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(201);
    const id = res.headers.get('poussetaches-task-id');
    expect(id).toMatch(/^\d+$/);
    return id!;
  }

  async function tasks(list: string): Promise<Task[]> {
    const res = await api(`/${list}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { tasks: Task[] }).tasks;
  }

  const deliveriesTo = (path: string): Delivery[] => deliveries.filter((d) => d.path === path);

  beforeAll(async () => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const path = req.url ?? '/';
        const key = req.headers['poussetaches-auth-key'];
        deliveries.push({
          path,
          authKey: typeof key === 'string' ? key : undefined,
          envelope: JSON.parse(body) as Delivery['envelope'],
        });
        res.statusCode = (answers.get(path) ?? (() => 200))(deliveriesTo(path).length);
        res.end(`answer ${res.statusCode}`);
      });
    });
    receiver = await listenOnLoopback(server);
    if (mode === 'Scalable') db = await tempMariaDatabase();
    await start();
  }, 120_000);

  afterAll(async () => {
    await stop();
    await receiver?.close();
    if (db !== undefined) {
      await db.drop();
      await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, prefix);
    }
  }, 120_000);

  const target = (path: string): string => `http://127.0.0.1:${receiver.port}${path}`;

  it('retries a push until the receiver answers 200: tries 1, 2, 3, one req_id, the shared key', async () => {
    answers.set('/retry', (n) => (n <= 2 ? 500 : 200));
    const id = await push({ url: target('/retry'), payload: b64('{"hello":"world"}') });
    const seen = await eventually('three deliveries', async () => {
      const got = deliveriesTo('/retry');
      return got.length >= 3 ? got : undefined;
    });
    expect(seen.map((d) => d.envelope.tries)).toEqual([1, 2, 3]);
    expect(new Set(seen.map((d) => d.envelope.req_id))).toEqual(new Set([id]));
    expect(seen.every((d) => d.authKey === AUTH_KEY)).toBe(true);
    expect(Buffer.from(seen[0]!.envelope.payload, 'base64').toString()).toBe('{"hello":"world"}');
    const done = await eventually('the task in /success', async () =>
      (await tasks('success')).find((t) => t.id === id),
    );
    expect(done).toMatchObject({ url: target('/retry'), payload: b64('{"hello":"world"}'), expected: 200, tries: 3 });
    expect((await tasks('waiting')).some((t) => t.id === id)).toBe(false);
  }, 120_000);

  it('gives a push up after POUSSETACHES_MAX_TRIES tries: it is in /dead with the last answer', async () => {
    answers.set('/dead', () => 503);
    const id = await push({ url: target('/dead'), payload: b64('x'), expected: 201 });
    const dead = await eventually('the task in /dead', async () => (await tasks('dead')).find((t) => t.id === id));
    expect(dead).toMatchObject({ tries: 3, expected: 201, last_error_status_code: 503 });
    expect(Buffer.from(dead.last_error_body, 'base64').toString()).toBe('answer 503');
    expect(deliveriesTo('/dead').map((d) => d.envelope.tries)).toEqual([1, 2, 3]);
  }, 120_000);

  it('pauses deliveries for the cluster until resumed, without counting a try', async () => {
    expect(await (await api('/pause', { method: 'POST' })).text()).toBe('');
    expect(await (await api('/')).json()).toMatchObject({ paused: true });
    const id = await push({ url: target('/paused'), payload: b64('p') });
    // the job waits in its runner: in flight, not sent
    await eventually('the paused task in flight', async () =>
      ((await (await api('/')).json()) as { in_flight: number }).in_flight >= 1 ? true : undefined,
    );
    expect(deliveriesTo('/paused')).toEqual([]);
    expect((await tasks('waiting')).map((t) => t.id)).toContain(id);
    expect((await api('/resume', { method: 'POST' })).status).toBe(200);
    const sent = await eventually('the delivery after resume', async () => deliveriesTo('/paused')[0]);
    expect(sent.envelope).toMatchObject({ tries: 1, req_id: id });
    expect(await (await api('/')).json()).toMatchObject({ paused: false });
  }, 120_000);

  it('answers bad input with a 4xx and a message, and keeps serving', async () => {
    const post = async (body: string, token?: string): Promise<{ status: number; error: string }> => {
      const res = await api('/', { method: 'POST', body }, token ?? AUTH_TOKEN);
      const text = await res.text();
      return { status: res.status, error: text === '' ? '' : ((JSON.parse(text) as { error: string }).error ?? '') };
    };
    const ok = { url: target('/never'), payload: b64('x') };
    const cases: Array<[string, number, RegExp]> = [
      ['{"url": ', 400, /not JSON/],
      ['[1,2]', 400, /must be a JSON object/],
      [JSON.stringify({ payload: 'eA==' }), 400, /url is required/],
      [JSON.stringify({ url: target('/x') }), 400, /payload is required/],
      [JSON.stringify({ ...ok, url: 42 }), 400, /url must be a string, not a number/],
      [JSON.stringify({ ...ok, url: 'file:///etc/passwd' }), 400, /url must use http or https/],
      [JSON.stringify({ ...ok, payload: 'not base64!' }), 400, /payload is not valid base64/],
      [JSON.stringify({ ...ok, expected: '200' }), 400, /expected must be an HTTP status code/],
      [JSON.stringify({ ...ok, expected: 99 }), 400, /expected must be an HTTP status code/],
      [JSON.stringify({ ...ok, delay: -1 }), 400, /delay must be a number of minutes/],
      [JSON.stringify({ ...ok, schedule: 'every day' }), 400, /schedule is not a valid cron spec/],
      [JSON.stringify({ ...ok, schedule: 7 }), 400, /schedule must be a cron spec string/],
      [JSON.stringify({ ...ok, payload: b64('y'.repeat(MAX_BODY)) }), 413, /larger than 4096 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const got = await post(body);
      expect(got.status, body.slice(0, 80)).toBe(status);
      expect(got.error).toMatch(message);
    }
    const noToken = await api('/', { method: 'POST', body: JSON.stringify(ok) }, null);
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: string }).error).toMatch(/send the server's AUTH_TOKEN/);
    const wrong = await post(JSON.stringify(ok), 'wrong-token');
    expect(wrong).toEqual({ status: 401, error: "the token does not match the server's AUTH_TOKEN" });
    const bearer = await fetch(`${apiUrl}/`, { headers: { authorization: `Bearer ${AUTH_TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect((await api('/nowhere')).status).toBe(404);
    expect((await api('/waiting', { method: 'POST' })).status).toBe(405);
    // nothing above reached the receiver or stopped the process
    expect(deliveriesTo('/never')).toEqual([]);
    expect(processes.every((p) => p.child.exitCode === null)).toBe(true);
    expect(await (await api('/')).json()).toMatchObject({ paused: false });
    const out = processes.map((p) => p.output()).join('\n');
    expect(out).not.toContain(AUTH_KEY);
  }, 120_000);

  it('keeps firing a cron push after the processes restart; registering it again answers the same id', async () => {
    const cron = { url: target('/cron'), payload: b64('tick'), schedule: '* * * * * *' };
    const id = await push(cron);
    expect(await push(cron)).toBe(id);
    await eventually('a cron delivery', async () => (deliveriesTo('/cron').length > 0 ? true : undefined));
    expect((await tasks('cron')).find((t) => t.id === id)).toMatchObject({ schedule: '* * * * * *', url: cron.url });

    await stop();
    const before = deliveriesTo('/cron').length;
    await start();
    await eventually('a cron delivery after the restart', async () =>
      deliveriesTo('/cron').length > before ? true : undefined,
    );
    expect(await push(cron)).toBe(id);
    expect((await tasks('cron')).map((t) => t.id)).toEqual([id]);
    const after = deliveriesTo('/cron').slice(before);
    expect(after.every((d) => d.envelope.tries === 1 && d.authKey === AUTH_KEY)).toBe(true);
  }, 180_000);
});
