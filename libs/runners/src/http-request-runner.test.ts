import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpRequestArgs as Args } from '../../proto/src/index.js';
import { HttpRequestArgs, HttpRequestResult, HttpRequestRunnerSettings } from '../../proto/src/index.js';
import { HttpRequestPools } from './http-request-pools.js';
import { httpRequestErrorKind, httpStatusFailure, HttpRequestRunner } from './http-request-runner.js';
import { context, runnerError } from './testing/run-context.js';

const MAX_RESPONSE_BYTES = 1000;

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let baseUrl: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void;
let seen: Seen[];
const pools = new HttpRequestPools();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await pools.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
  handle = (_req, res) => res.end('ok');
});

async function loaded(base = baseUrl): Promise<HttpRequestRunner> {
  const runner = new HttpRequestRunner({ maxResponseBytes: MAX_RESPONSE_BYTES, pools });
  await runner.load(
    HttpRequestRunnerSettings.encode(HttpRequestRunnerSettings.fromPartial({ baseUrl: base })).finish(),
  );
  return runner;
}

function args(overrides: Partial<Args> = {}): Uint8Array {
  return HttpRequestArgs.encode({ headers: [], method: 'GET', path: '/', queries: [], ...overrides }).finish();
}

describe('httpStatusFailure', () => {
  it('succeeds on 2xx, retries 5xx, 408 and 429, and fails the rest for good', () => {
    expect([200, 201, 204, 299].map(httpStatusFailure)).toEqual([undefined, undefined, undefined, undefined]);
    expect([500, 502, 503, 599, 408, 429].map(httpStatusFailure)).toEqual(Array(6).fill('retryable'));
    expect([301, 304, 400, 401, 403, 404, 422].map(httpStatusFailure)).toEqual(Array(7).fill('fatal'));
  });
});

describe('httpRequestErrorKind', () => {
  it('fails unusable arguments for good and retries network errors', () => {
    const withCode = (code: string): Error => Object.assign(new Error(code), { code });
    expect(httpRequestErrorKind(withCode('UND_ERR_INVALID_ARG'))).toBe('fatal');
    expect(httpRequestErrorKind(withCode('UND_ERR_NOT_SUPPORTED'))).toBe('fatal');
    expect(httpRequestErrorKind(withCode('UND_ERR_HEADERS_OVERFLOW'))).toBe('fatal');
    expect(httpRequestErrorKind(withCode('ECONNREFUSED'))).toBe('retryable');
    expect(httpRequestErrorKind(withCode('UND_ERR_SOCKET'))).toBe('retryable');
    expect(httpRequestErrorKind(new Error('no code'))).toBe('retryable');
  });
});

describe('HttpRequestRunner', () => {
  it('refuses base URLs that are not plain http(s) URLs, without echoing credentials', async () => {
    for (const [base, text] of [
      ['not a url', 'not an absolute URL'],
      ['ftp://example.com', 'must use http or https'],
      ['http://user:s3cret@example.com', 'must not contain credentials'],
    ] as const) {
      const error = await runnerError(loaded(base));
      expect(error.kind).toBe('fatal');
      expect(error.message).toContain(text);
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('sends method, path, queries, headers and body, and returns status, headers and content', async () => {
    handle = (_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('héllo');
    };
    const runner = await loaded(`${baseUrl}/api/v1/`);
    const output = await runner.run(
      args({
        method: 'post',
        path: 'items?x=1',
        queries: [
          { key: 'q', value: 'a b&c' },
          { key: 'q', value: '2' },
        ],
        headers: [
          { key: 'x-token', value: 't1' },
          { key: 'content-type', value: 'application/json' },
        ],
        body: '{"n":1}',
      }),
      context(),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"n":1}' });
    expect(seen[0]!.headers).toMatchObject({ 'x-token': 't1', 'content-type': 'application/json' });
    const url = new URL(seen[0]!.url, baseUrl);
    expect(url.pathname).toBe('/api/v1/items');
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.getAll('q')).toEqual(['a b&c', '2']);

    expect(output).toHaveLength(1);
    const result = HttpRequestResult.decode(output[0]!);
    expect(result.statusCode).toBe(200);
    expect(result.content).toBe('héllo');
    expect(result.headers.filter((h) => h.key === 'set-cookie').map((h) => h.value)).toEqual(['a=1', 'b=2']);
  });

  it('defaults to GET and resolves an absolute path against the base origin', async () => {
    const runner = await loaded(`${baseUrl}/api/v1`);
    await runner.run(args({ method: '', path: '/health' }), context());
    expect(seen.map((s) => [s.method, s.url])).toEqual([['GET', '/health']]);
  });

  it('classifies 4xx as fatal and 5xx as retryable, keeping the body in the output', async () => {
    const runner = await loaded();
    handle = (_req, res) => res.writeHead(404).end('no such thing');
    const notFound = await runnerError(runner.run(args({ path: '/missing?api_key=SECRET' }), context()));
    expect(notFound.kind).toBe('fatal');
    expect(notFound.message).toBe(`GET ${baseUrl}/missing answered HTTP 404`);
    expect(HttpRequestResult.decode(notFound.output[0]!)).toMatchObject({ statusCode: 404, content: 'no such thing' });

    handle = (_req, res) => res.writeHead(503).end('busy');
    const busy = await runnerError(runner.run(args(), context()));
    expect(busy.kind).toBe('retryable');
    expect(busy.message).toContain('HTTP 503');
    expect(HttpRequestResult.decode(busy.output[0]!).content).toBe('busy');
  });

  it('stops reading a response longer than maxResponseBytes and fails it as fatal', async () => {
    handle = (_req, res) => res.end('x'.repeat(MAX_RESPONSE_BYTES * 5));
    const error = await runnerError((await loaded()).run(args(), context()));
    expect(error.kind).toBe('fatal');
    expect(error.message).toContain(`response exceeded ${MAX_RESPONSE_BYTES} bytes (RESPONSE_MAX_BYTES)`);
    expect(HttpRequestResult.decode(error.output[0]!).content).toBe('x'.repeat(MAX_RESPONSE_BYTES));
  });

  it('refuses paths that leave the base origin, bad methods and bad header names before sending', async () => {
    const runner = await loaded();
    for (const overrides of [
      { path: '//evil.example/x' },
      { path: 'https://evil.example/x' },
      { method: 'GE T' },
      { headers: [{ key: 'bad header', value: 'v' }] },
    ]) {
      const error = await runnerError(runner.run(args(overrides), context()));
      expect(error.kind).toBe('fatal');
    }
    expect(seen).toEqual([]);
  });

  it('retries when the server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await runnerError((await loaded(`http://127.0.0.1:${port}`)).run(args(), context()));
    expect(error.kind).toBe('retryable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('aborts the request when the signal fires and rejects with its reason', async () => {
    let closedByClient!: () => void;
    const peerSawClose = new Promise<void>((resolve) => (closedByClient = resolve));
    handle = (_req, res) => res.on('close', closedByClient);
    const controller = new AbortController();
    const reason = new Error('job timed out');
    const running = (await loaded()).run(args(), context(controller.signal));
    await expect.poll(() => seen.length).toBe(1);
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await peerSawClose;
  });
});

describe('HttpRequestRunner push extensions', () => {
  const pushSettings = (overrides: Partial<HttpRequestRunnerSettings> = {}): Uint8Array =>
    HttpRequestRunnerSettings.encode(
      HttpRequestRunnerSettings.fromPartial({
        baseUrl: '',
        allowAnyOrigin: true,
        pushEnvelope: true,
        sharedKeyHeader: { name: 'Poussetaches-Auth-Key', key: 'k3y-secret' },
        ...overrides,
      }),
    ).finish();

  async function pushRunner(overrides: Partial<HttpRequestRunnerSettings> = {}): Promise<HttpRequestRunner> {
    const runner = new HttpRequestRunner({ maxResponseBytes: MAX_RESPONSE_BYTES, pools });
    await runner.load(pushSettings(overrides));
    return runner;
  }

  it('sends the envelope with the attempt number, a req_id stable across attempts, and the shared key', async () => {
    const runner = await pushRunner();
    const payload = Buffer.from([0, 1, 2, 255]);
    const job = args({ method: 'POST', path: `${baseUrl}/hook`, bodyBytes: payload, expectedStatus: 200 });
    for (const attempt of [1, 2, 3]) {
      await runner.run(job, { signal: new AbortController().signal, jobId: 4242, attempt, timeoutMs: 0 });
    }
    expect(seen.map((s) => JSON.parse(s.body) as unknown)).toEqual(
      [1, 2, 3].map((tries) => ({ payload: payload.toString('base64'), tries, req_id: '4242' })),
    );
    for (const s of seen) {
      expect(s.url).toBe('/hook');
      expect(s.headers['poussetaches-auth-key']).toBe('k3y-secret');
      expect(s.headers['content-type']).toBe('application/json');
    }
  });

  it('succeeds only on the expected status: any other one, 2xx or 4xx, is retryable and keeps the answer', async () => {
    const runner = await pushRunner();
    for (const status of [200, 204, 404, 500]) {
      handle = (_req, res) => {
        res.statusCode = status;
        res.end(status === 204 ? undefined : `answer ${status}`);
      };
      const run = runner.run(args({ method: 'POST', path: `${baseUrl}/x`, expectedStatus: 201 }), context());
      const error = await runnerError(run);
      expect(error.kind).toBe('retryable');
      expect(error.message).toContain(`answered HTTP ${status}, not the expected 201`);
      expect(error.message).not.toContain('k3y-secret');
      expect(HttpRequestResult.decode(error.output[0]!).statusCode).toBe(status);
    }
    handle = (_req, res) => {
      res.statusCode = 201;
      res.end();
    };
    const output = await runner.run(args({ method: 'POST', path: `${baseUrl}/x`, expectedStatus: 201 }), context());
    expect(HttpRequestResult.decode(output[0]!).statusCode).toBe(201);
  });

  it('aborts a request that takes longer than request_timeout_ms as retryable', async () => {
    const runner = await pushRunner({ requestTimeoutMs: 200 });
    handle = () => undefined; // never answers
    const error = await runnerError(runner.run(args({ method: 'POST', path: `${baseUrl}/slow` }), context()));
    expect(error.kind).toBe('retryable');
    expect(error.message).toContain('timed out after 200 ms');
  });

  it('refuses a non-http URL even with allow_any_origin, and other origins without it', async () => {
    const runner = await pushRunner();
    const error = await runnerError(runner.run(args({ path: 'file:///etc/passwd' }), context()));
    expect(error.kind).toBe('fatal');
    const fixed = await loaded(`${baseUrl}/api/`);
    const other = await runnerError(fixed.run(args({ path: 'http://127.0.0.2:1/x' }), context()));
    expect(other.message).toContain("leaves the worker's base_url origin");
  });

  it('waits while its pause switch is on, then sends', async () => {
    let on = true;
    const waiters: Array<() => void> = [];
    const switches = {
      waitWhileOn: (name: string): Promise<void> => {
        expect(name).toBe('push');
        return on ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve();
      },
    };
    const runner = new HttpRequestRunner({ maxResponseBytes: MAX_RESPONSE_BYTES, pools, switches });
    await runner.load(pushSettings({ pauseSwitch: 'push' }));
    const run = runner.run(args({ method: 'POST', path: `${baseUrl}/p` }), context());
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(0);
    on = false;
    for (const resolve of waiters) resolve();
    await run;
    expect(seen).toHaveLength(1);
  });
});
