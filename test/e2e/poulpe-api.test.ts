/**
 * The poulpe-compatible HTTP API end to end, on the built processes: poulpe's task JSON for GET and POST (against a
 * local HTTP server), EXEC (an allowlisted /bin/echo) and MAIL_TO (a local SMTP server), answered through `wait` and
 * `GET /task_resp/<id>`, with retries, timeouts, duplicate ids and `GET /sys_info` counts; and every kind of bad
 * input answered with a 4xx and a message while the process goes on. Run on the all-in-one (Standalone) and on
 * Scalable (a grpc-front taking the tasks, a worker running them, on MariaDB and Redis).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { listenOnLoopback } from '../support/http-listen.js';
import { findLogLine } from '../support/log-lines.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';

const TOKEN = 'poulpe-e2e-token';
const SENDER = 'robot@poulpe.example';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The local HTTP peer: what it was sent, and a /slow path that answers only when released. */
interface HttpPeer {
  readonly origin: string;
  readonly requests: Array<{ method: string; url: string; contentType: string | undefined; body: string }>;
  readonly failures: Map<string, number>;
  release(): void;
  close(): Promise<void>;
}

async function startHttpPeer(): Promise<HttpPeer> {
  const requests: HttpPeer['requests'] = [];
  const failures = new Map<string, number>();
  let held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const url = req.url ?? '/';
      requests.push({ method: req.method ?? '', url, contentType: req.headers['content-type'], body });
      const path = url.split('?')[0] ?? '';
      if (path === '/slow') {
        held.push(res);
        return;
      }
      if (path.startsWith('/fail')) {
        failures.set(path, (failures.get(path) ?? 0) + 1);
        res.writeHead(500).end('broken on purpose');
        return;
      }
      if (path === '/created') {
        res.writeHead(201).end('made');
        return;
      }
      res.writeHead(200).end(req.method === 'POST' ? `got ${body}` : `pong ${url}`);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    failures,
    release: () => {
      for (const res of held) res.writeHead(200).end('finally');
      held = [];
    },
    close,
  };
}

async function startSmtpPeer(): Promise<{ port: number; messages: Buffer[]; close(): Promise<void> }> {
  const messages: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData: (stream: Readable, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks));
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** A client of the poulpe API at `base`, sending the token unless told otherwise. */
function client(base: string) {
  const send = async (
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = { 'jobworkerp-auth': TOKEN },
  ): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  return {
    send,
    task: (task: Record<string, unknown>) => send('POST', '/task_in_queue', JSON.stringify(task)),
    resp: (id: string, timeout?: number) =>
      send('GET', `/task_resp/${encodeURIComponent(id)}${timeout === undefined ? '' : `?timeout=${timeout}`}`),
    sysInfo: () => send('GET', '/sys_info'),
    /** starts a request and drops the connection once the server has it: a client that gives up on a long poll */
    abandon: async (path: string, body: string): Promise<void> => {
      const stop = new AbortController();
      const sent = fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'jobworkerp-auth': TOKEN },
        body,
        signal: stop.signal,
      }).catch(() => undefined);
      await sleep(300);
      stop.abort();
      await sent;
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The poulpe API's URL from the line the front prints. */
const apiUrl = (front: ServerProcess): Promise<string> =>
  waitFor(
    'the poulpe API line',
    async () => findLogLine(front.output(), /poulpe API listening on (https?:\/\/\S+)/)?.[1],
  );

interface Mode {
  readonly name: string;
  /** starts the processes with this environment; returns the front (that serves the API) and everything to stop */
  start(env: Record<string, string>): Promise<{ front: ServerProcess; stop(): Promise<void> }>;
}

const modes: Mode[] = [
  {
    name: 'all-in-one',
    start: async (env) => {
      const front = await startServer({ env });
      return { front, stop: async () => void (await front.stop()) };
    },
  },
  {
    name: 'Scalable (grpc-front + worker)',
    start: async (env) => {
      const db = await tempMariaDatabase();
      const prefix = `jwpoulpe-${randomBytes(4).toString('hex')}`;
      const scalable = { ...env, ...scalableEnv(db.name, prefix) };
      const started: ServerProcess[] = [];
      const stop = async (): Promise<void> => {
        await Promise.all(started.map((p) => p.stop()));
        await db.drop();
        await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, prefix);
      };
      try {
        const front = await startServer({ app: 'grpc-front', env: scalable, startTimeoutMs: 60_000 });
        started.push(front);
        // the worker starts after the front created the API's workers (and migrated the database)
        await apiUrl(front);
        started.push(await startServer({ app: 'worker', env: scalable, startTimeoutMs: 60_000 }));
        return { front, stop };
      } catch (err) {
        await stop();
        throw err;
      }
    },
  },
];

describe.each(modes)(
  'poulpe API on $name',
  (mode) => {
    let http: HttpPeer;
    let smtp: Awaited<ReturnType<typeof startSmtpPeer>>;
    let running: Awaited<ReturnType<Mode['start']>>;
    let api: ReturnType<typeof client>;
    const id = (name: string): string => `${name}-${randomBytes(3).toString('hex')}`;

    beforeAll(async () => {
      http = await startHttpPeer();
      smtp = await startSmtpPeer();
      running = await mode.start({
        AUTH_TOKEN: TOKEN,
        POULPE_HTTP_ADDR: '127.0.0.1:0',
        POULPE_HTTP_ORIGINS: http.origin,
        POULPE_EXEC_ALLOWLIST: '/bin/echo',
        POULPE_SMTP_HOST: '127.0.0.1',
        POULPE_SMTP_PORT: String(smtp.port),
        POULPE_MAIL_FROM: SENDER,
        POULPE_MAX_RETRY: '1',
        POULPE_RETRY_INTERVAL_MS: '1500',
        HTTP_MAX_BODY_BYTES: '65536',
        JOB_QUEUE_FETCH_INTERVAL: '200',
        WORKER_DEFAULT_CONCURRENCY: '4',
      });
      api = client(await apiUrl(running.front));
    }, 120_000);

    afterAll(async () => {
      http?.release();
      await running?.stop();
      await http?.close();
      await smtp?.close();
    });

    it('runs GET, POST, EXEC and MAIL_TO tasks and answers with their results when asked to wait', async () => {
      const get = await api.task({
        id: id('get'),
        method: 'GET',
        delay: 0,
        name: `${http.origin}/ping`,
        params: 'a=1&b=two',
        cc: '',
        wait: 60,
      });
      expect(get).toMatchObject({
        status: 200,
        body: { result: 'OK', reason: '', status: 'SUCCESS', output: 'pong /ping?a=1&b=two' },
      });

      const post = await api.task({
        id: id('post'),
        method: 'POST',
        delay: 0,
        name: `${http.origin}/hook`,
        params: '{"k":"v"}',
        cc: '',
        wait: 60,
      });
      expect(post).toMatchObject({ status: 200, body: { result: 'OK', output: 'got {"k":"v"}' } });
      expect(http.requests.find((r) => r.url === '/hook')).toMatchObject({
        method: 'POST',
        contentType: 'application/json',
        body: '{"k":"v"}',
      });

      // any 2xx is a success (poulpe took only 200)
      const created = await api.task({
        id: id('created'),
        method: 'GET',
        delay: 0,
        name: `${http.origin}/created`,
        params: '',
        cc: '',
        wait: 60,
      });
      expect(created.body).toMatchObject({ result: 'OK', output: 'made' });

      const exec = await api.task({
        id: id('exec'),
        method: 'EXEC',
        delay: 0,
        name: '/bin/echo',
        params: ' hello   world ',
        cc: '0',
        wait: 60,
      });
      expect(exec).toMatchObject({ status: 200, body: { result: 'OK', output: 'hello world\n' } });

      const mailId = id('mail');
      const mail = await api.task({
        id: mailId,
        method: 'MAIL_TO',
        delay: 0,
        name: '',
        params: JSON.stringify({ to_addr: 'ops@poulpe.example', title: `report ${mailId}`, body: 'all good' }),
        cc: '',
        wait: 60,
      });
      expect(mail).toMatchObject({ status: 200, body: { result: 'OK', status: 'SUCCESS' } });
      const parsed = await Promise.all(smtp.messages.map((m) => simpleParser(m)));
      const sent = parsed.find((m) => m.subject === `report ${mailId}`);
      expect(sent?.from?.text).toBe(SENDER);
      expect(sent?.text?.trim()).toBe('all good');
    });

    it('retries a failing task, shows it in wronging_keys between runs, and answers Fail once retries are spent', async () => {
      const taskId = id('fail');
      const path = `/fail-${taskId}`;
      const waiting = api.task({
        id: taskId,
        method: 'GET',
        delay: 0,
        name: `${http.origin}${path}`,
        params: '',
        cc: '',
        wait: 120,
      });
      // between the first run and the retry (POULPE_RETRY_INTERVAL_MS later) the task waits to run again
      await waitFor('the failed task in wronging_keys', async () => {
        const info = await api.sysInfo();
        return (info.body['wronging_keys'] as string[]).includes(`task-${taskId}`) ? true : undefined;
      });
      const answer = await waiting;
      expect(answer).toMatchObject({
        status: 200,
        body: { result: 'Fail', status: 'MAX_RETRY', retried: 1, id: taskId },
      });
      expect(answer.body['reason']).toMatch(/answered HTTP 500/);
      // POULPE_MAX_RETRY=1: two runs in all
      expect(http.failures.get(path)).toBe(2);
      // the result stays readable, as often as asked
      expect((await api.resp(taskId)).body).toMatchObject({ result: 'Fail', status: 'MAX_RETRY' });
      expect((await api.resp(`task-${taskId}`)).body).toMatchObject({ result: 'Fail', status: 'MAX_RETRY' });
      const info = await api.sysInfo();
      expect((info.body['status'] as { deadLetters: number }).deadLetters).toBeGreaterThanOrEqual(1);
    });

    it('answers Timeout when wait runs out, refuses the same id while it runs, and task_resp long-polls for the result', async () => {
      const taskId = id('slow');
      const timedOut = await api.task({
        id: taskId,
        method: 'GET',
        delay: 0,
        name: `${http.origin}/slow`,
        params: '',
        cc: '',
        wait: 1,
      });
      expect(timedOut.status).toBe(504);
      expect(timedOut.body).toMatchObject({ result: 'Timeout', id: taskId });
      expect(timedOut.body['reason']).toMatch(/keeps running/);

      const info = await api.sysInfo();
      expect(info.status).toBe(200);
      expect(info.body['working_keys']).toContain(`task-${taskId}`);
      expect(Object.keys(info.body['channel_sizes'] as object).length).toBeGreaterThan(0);

      const again = await api.task({ id: taskId, method: 'EXEC', delay: 0, name: '/bin/echo', params: 'x', cc: '' });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ result: 'Fail' });
      expect(again.body['reason']).toMatch(/already queued/);

      const shortPoll = await api.resp(`task-${taskId}`, 1);
      expect(shortPoll).toMatchObject({ status: 504, body: { result: 'Timeout' } });

      const readers = [api.resp(taskId, 120), api.resp(`task-${taskId}`, 120)];
      await waitFor('the slow request to arrive', async () =>
        http.requests.some((r) => r.url === '/slow') ? true : undefined,
      );
      http.release();
      for (const answer of await Promise.all(readers)) {
        expect(answer).toMatchObject({ status: 200, body: { result: 'OK', output: 'finally', id: taskId } });
      }
      // finished: the id may be used again
      const reused = await api.task({
        id: taskId,
        method: 'EXEC',
        delay: 0,
        name: '/bin/echo',
        params: 'second',
        cc: '',
        wait: 60,
      });
      expect(reused.body).toMatchObject({ result: 'OK', output: 'second\n' });
      expect((await api.resp(taskId)).body).toMatchObject({ output: 'second\n' });
    });

    it('delays a task by `delay` seconds and lists it in delaying_keys until then', async () => {
      const taskId = id('later');
      const accepted = await api.task({
        id: taskId,
        method: 'EXEC',
        delay: 4,
        name: '/bin/echo',
        params: 'later',
        cc: '',
      });
      expect(accepted).toEqual({ status: 200, body: { result: 'OK', reason: '', id: taskId } });
      const info = await api.sysInfo();
      const delaying = info.body['delaying_keys'] as string[];
      const entry = delaying.find((k) => k.startsWith(`task-${taskId} `));
      expect(entry).toBeDefined();
      expect(Number(entry!.split(' ')[1])).toBeGreaterThan(Date.now() / 1000);
      expect((await api.resp(taskId, 120)).body).toMatchObject({ result: 'OK', output: 'later\n' });
    });

    it('answers bad input with a 4xx and a message, and keeps serving', async () => {
      const base = { id: id('bad'), method: 'EXEC', delay: 0, name: '/bin/echo', params: '', cc: '' };
      const cases: Array<[string, () => Promise<Answer>, number, RegExp]> = [
        ['bad JSON', () => api.send('POST', '/task_in_queue', '{"id":'), 400, /not JSON/],
        ['empty body', () => api.send('POST', '/task_in_queue', ''), 400, /empty/],
        ['a wrong type', () => api.task({ ...base, delay: '0' }), 400, /"delay" must be whole seconds/],
        ['a missing field', () => api.task({ ...base, cc: undefined }), 400, /"cc" is missing/],
        ['a negative cc', () => api.task({ ...base, cc: '-1' }), 400, /"cc" must list thread numbers/],
        ['an unknown method', () => api.task({ ...base, method: 'RM' }), 400, /"method" "RM" is unknown/],
        [
          'a huge body',
          () => api.send('POST', '/task_in_queue', Buffer.alloc(200_000, 0x20)),
          413,
          /larger than 65536 bytes/,
        ],
        ['no token', () => api.send('POST', '/task_in_queue', JSON.stringify(base), {}), 401, /no token/],
        [
          'a wrong token',
          () => api.send('GET', '/sys_info', undefined, { 'jobworkerp-auth': 'nope' }),
          401,
          /does not match/,
        ],
        [
          'an executable not allowed',
          () => api.task({ ...base, name: '/bin/sh', params: '-c id' }),
          403,
          /POULPE_EXEC_ALLOWLIST/,
        ],
        [
          'an origin not allowed',
          () => api.task({ ...base, method: 'GET', name: 'http://169.254.169.254/latest' }),
          403,
          /POULPE_HTTP_ORIGINS/,
        ],
        ['a name that is no URL', () => api.task({ ...base, method: 'GET', name: 'ping' }), 400, /is not a URL/],
        [
          'a sender not allowed',
          () =>
            api.task({
              ...base,
              method: 'MAIL_TO',
              params: JSON.stringify({ from_addr: 'ceo@bank.example', to_addr: 'a@b.example' }),
            }),
          403,
          /POULPE_MAIL_FROM_ALLOWLIST/,
        ],
        ['bad mail params', () => api.task({ ...base, method: 'MAIL_TO', params: 'hi' }), 400, /must be JSON/],
        ['a wait too long', () => api.task({ ...base, wait: 999_999 }), 400, /"wait" must be whole seconds/],
        ['an unknown task', () => api.resp('never-sent'), 404, /no task "never-sent"/],
        ['a bad timeout', () => api.send('GET', '/task_resp/x?timeout=soon'), 400, /timeout must be whole seconds/],
        ['an unknown path', () => api.send('GET', '/tasks'), 404, /no such path/],
        ['a wrong method', () => api.send('GET', '/task_in_queue'), 405, /use POST/],
      ];
      for (const [what, send, status, message] of cases) {
        const answer = await send();
        expect({ what, status: answer.status }).toEqual({ what, status });
        expect({ what, result: answer.body['result'] }).toEqual({ what, result: 'Fail' });
        expect(answer.body['reason']).toMatch(message);
      }
      // a client that leaves while its task runs is no error; the task goes on
      const leftId = id('left');
      const slowBefore = http.requests.filter((r) => r.url === '/slow').length;
      await api.abandon(
        '/task_in_queue',
        JSON.stringify({ ...base, id: leftId, method: 'GET', name: `${http.origin}/slow`, wait: 60 }),
      );
      await waitFor('the abandoned task to reach the peer', async () =>
        http.requests.filter((r) => r.url === '/slow').length > slowBefore ? true : undefined,
      );
      http.release();
      expect((await api.resp(leftId, 60)).body).toMatchObject({ result: 'OK', output: 'finally' });
      expect(running.front.output()).not.toMatch(/unexpected error|"level":50/);
      // the token also works as a bearer token, and the process is still up
      const bearer = await api.send('GET', '/sys_info', undefined, { authorization: `Bearer ${TOKEN}` });
      expect(bearer.status).toBe(200);
      expect(running.front.child.exitCode).toBeNull();
    });
  },
  120_000,
);
