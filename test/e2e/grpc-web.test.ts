/**
 * gRPC-Web and JSON (USE_GRPC_WEB=true on HTTP_ADDR) end to end, on the built processes: all-in-one (Standalone) and
 * Scalable (a grpc-front and a worker on MariaDB and Redis). Clients: plain fetch with JSON (the Connect protocol, as
 * curl sends it), `buf curl --protocol grpcweb`, Connect's own gRPC-Web client (Listen and a ListenStreamByWorker
 * stream) and raw gRPC-Web text requests. Bad input gets a 4xx with a message; the process stays up.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayServices } from '../../libs/front/src/http/grpc-web-gateway.js';
import { ResponseType } from '../../libs/proto/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { findLogLine } from '../support/log-lines.js';
import { commandArgs, commandSettings } from '../support/worker-data.js';

const TOKEN = 'grpc-web-test-token';
const BUF = join(REPO_ROOT, 'node_modules', '.bin', 'buf');
const WEB_ENV = { USE_GRPC_WEB: 'true', HTTP_ADDR: '127.0.0.1:0', AUTH_TOKEN: TOKEN, JOB_QUEUE_FETCH_INTERVAL: '200' };

/** The gateway URL the process printed, once it has (the line follows the gRPC one). */
async function gatewayUrl(server: ServerProcess): Promise<string> {
  const find = (): string | undefined =>
    findLogLine(server.output(), /jobworkerp gRPC-Web\/JSON listening on (https?:\/\/\S+)/)?.[1];
  const found = find();
  if (found !== undefined) return found;
  const stdout = server.child.stdout;
  if (stdout === null) throw new Error('the process has no stdout');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stdout.off('data', check);
      reject(new Error(`no gRPC-Web/JSON line within 30 s:\n${server.output()}`));
    }, 30_000);
    const check = (): void => {
      const url = find();
      if (url === undefined) return;
      clearTimeout(timer);
      stdout.off('data', check);
      resolve(url);
    };
    stdout.on('data', check);
  });
}

interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

/** A Connect-protocol JSON POST, as curl sends it. */
async function postJson(
  base: string,
  path: string,
  body: string,
  headers: Record<string, string> = { 'jobworkerp-auth': TOKEN },
): Promise<JsonAnswer> {
  const res = await fetch(`${base}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: res.headers,
  };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** `buf curl --protocol grpcweb` with our schema; returns its exit code and output. */
async function bufCurl(
  schema: string,
  url: string,
  data: unknown,
  token: string = TOKEN,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa(
    BUF,
    [
      'curl',
      '--schema',
      schema,
      '--protocol',
      'grpcweb',
      '-H',
      `jobworkerp-auth: ${token}`,
      '-d',
      JSON.stringify(data),
      url,
    ],
    { reject: false, timeout: 120_000 },
  );
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function service(name: string): DescService {
  const found = gatewayServices().find((s) => s.typeName === name);
  if (found === undefined) throw new Error(`no service ${name} in the descriptor set`);
  return found;
}

type AnyClient = Record<string, (req: object, options?: object) => unknown>;
const anyClient = (c: Client<DescService>): AnyClient => c as unknown as AnyClient;

/** One gRPC-Web text frame (base64 of flag, length, message) of a protobuf message. */
function webTextBody(message: Uint8Array): string {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(frame, 5);
  return frame.toString('base64');
}

/** The data messages and the trailers of a gRPC-Web text answer. */
function parseWebText(text: string): { messages: Buffer[]; trailers: Record<string, string> } {
  // each frame may be base64-encoded on its own: decode chunk by chunk of 4-character groups ending in padding
  const bytes = Buffer.concat(
    (text.match(/[A-Za-z0-9+/]*={0,2}/g) ?? []).filter((s) => s !== '').map((s) => Buffer.from(s, 'base64')),
  );
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (let at = 0; at + 5 <= bytes.length;) {
    const flag = bytes[at] ?? 0;
    const length = bytes.readUInt32BE(at + 1);
    const payload = bytes.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if ((flag & 0x80) === 0) messages.push(payload);
    else {
      for (const line of payload.toString('utf8').split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
    }
  }
  return { messages, trailers };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Everything a client can do over HTTP, against one front; `tag` keeps names apart. */
function describeGateway(front: () => ServerProcess, schema: () => string, tag: string): void {
  let base: string;
  beforeAll(async () => {
    base = await gatewayUrl(front());
  }, 60_000);

  const echoWorker = (name: string, responseType: string): string =>
    JSON.stringify({
      name,
      runnerId: { value: '1' },
      runnerSettings: b64(commandSettings('echo')),
      responseType,
      storeSuccess: true,
      storeFailure: true,
    });

  it('runs a job with JSON POSTs (curl style): create a worker, enqueue by name, read the DIRECT result', async () => {
    const created = await postJson(
      base,
      'jobworkerp.service.WorkerService/Create',
      echoWorker(`direct-${tag}`, 'DIRECT'),
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: { value: expect.stringMatching(/^\d+$/) as unknown } });

    const enq = await postJson(
      base,
      'jobworkerp.service.JobService/Enqueue',
      JSON.stringify({ workerName: `direct-${tag}`, args: b64(commandArgs('hello', 'json')) }),
    );
    expect(enq.status).toBe(200);
    const data = (enq.body['result'] as { data: { status: string; output: { items: string[] } } }).data;
    expect(data.status).toBe('SUCCESS');
    expect(Buffer.from(data.output.items[0] ?? '', 'base64').toString()).toBe('hello json\n');

    const found = await postJson(
      base,
      'jobworkerp.service.WorkerService/FindByName',
      JSON.stringify({ name: `direct-${tag}` }),
    );
    expect(found.body).toMatchObject({ data: { data: { name: `direct-${tag}`, responseType: 'DIRECT' } } });
  });

  it('answers buf curl over gRPC-Web: a unary call and a server stream (FindList)', async () => {
    const count = await bufCurl(schema(), `${base}/jobworkerp.service.RunnerService/Count`, {});
    expect(count.stderr).toBe('');
    expect(count.exitCode).toBe(0);
    expect(JSON.parse(count.stdout)).toMatchObject({ total: expect.stringMatching(/^[1-9]\d*$/) as unknown });

    const list = await bufCurl(schema(), `${base}/jobworkerp.service.RunnerService/FindList`, { limit: 3 });
    expect(list.exitCode).toBe(0);
    // one JSON document per streamed message
    const names = [...list.stdout.matchAll(/"name": "([A-Z_]+)"/g)].map((m) => m[1]);
    expect(names).toEqual(['COMMAND', 'HTTP_REQUEST', 'GRPC_UNARY']);

    const denied = await bufCurl(schema(), `${base}/jobworkerp.service.RunnerService/Count`, {}, 'wrong-token');
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/unauthenticated/);
    expect(denied.stderr).toMatch(/does not match the server's AUTH_TOKEN/);
    expect(denied.stderr).not.toContain(TOKEN);
  });

  it('serves Listen and a ListenStreamByWorker stream over gRPC-Web (Connect client, HTTP/1.1)', async () => {
    const transport = createGrpcWebTransport({ baseUrl: base, httpVersion: '1.1' });
    const jobs = anyClient(createClient(service('jobworkerp.service.JobService'), transport));
    const results = anyClient(createClient(service('jobworkerp.service.JobResultService'), transport));
    const workers = anyClient(createClient(service('jobworkerp.service.WorkerService'), transport));
    const headers = { 'jobworkerp-auth': TOKEN };
    const name = `listen-${tag}`;
    await workers['create']!(
      {
        name,
        runnerId: { value: 1n },
        runnerSettings: commandSettings('echo'),
        responseType: ResponseType.LISTEN_AFTER,
        storeSuccess: true,
        storeFailure: true,
      },
      { headers },
    );

    // Listen: a long poll for one job's result
    const enq = (await jobs['enqueue']!(
      { worker: { case: 'workerName', value: name }, args: commandArgs('listened') },
      { headers },
    )) as {
      id: { value: bigint };
    };
    const listened = (await results['listen']!(
      { jobId: enq.id, worker: { case: 'workerName', value: name }, timeout: 60_000n },
      { headers },
    )) as { data: { output: { items: Uint8Array[] } } };
    expect(Buffer.from(listened.data.output.items[0] ?? []).toString()).toBe('listened\n');

    // ListenStreamByWorker: results of jobs that finish while the stream is open
    const abort = new AbortController();
    const stream = results['listenStreamByWorker']!(
      { worker: { case: 'workerName', value: name } },
      { headers, signal: abort.signal },
    ) as AsyncIterable<{ data: { jobId: { value: bigint }; output: { items: Uint8Array[] } } }>;
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    const enqueued = new Set<bigint>();
    // the stream registers on the server a moment after the call starts: enqueue until a result comes through
    let got: IteratorResult<{ data: { jobId: { value: bigint }; output: { items: Uint8Array[] } } }> | undefined;
    for (let i = 0; i < 60 && got === undefined; i++) {
      const e = (await jobs['enqueue']!(
        { worker: { case: 'workerName', value: name }, args: commandArgs(`streamed-${i}`) },
        { headers },
      )) as {
        id: { value: bigint };
      };
      enqueued.add(e.id.value);
      got = await Promise.race([first, sleep(500).then(() => undefined)]);
    }
    if (got === undefined || got.done === true) throw new Error('the stream gave no result while 60 jobs ran');
    const result = got.value;
    expect(enqueued.has(result.data.jobId.value)).toBe(true);
    expect(Buffer.from(result.data.output.items[0] ?? []).toString()).toMatch(/^streamed-\d+\n$/);
    abort.abort();
    await iterator.return?.();
  });

  it('speaks gRPC-Web text (application/grpc-web-text), errors in its trailers', async () => {
    const call = (token: string): Promise<Response> =>
      fetch(`${base}/jobworkerp.service.RunnerService/Count`, {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web-text', 'x-grpc-web': '1', 'jobworkerp-auth': token },
        body: webTextBody(new Uint8Array()),
      });
    const ok = await call(TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^application\/grpc-web-text/);
    const answer = parseWebText(await ok.text());
    expect(answer.trailers['grpc-status']).toBe('0');
    expect(answer.messages).toHaveLength(1);
    // CountResponse { int64 total = 1 }: tag 0x08, then a varint > 0
    expect(answer.messages[0]?.[0]).toBe(0x08);
    expect(answer.messages[0]?.[1]).toBeGreaterThan(0);

    const denied = parseWebText(await (await call('wrong')).text());
    expect(denied.trailers['grpc-status']).toBe('16');
    expect(decodeURIComponent(denied.trailers['grpc-message'] ?? '')).toMatch(/does not match the server's AUTH_TOKEN/);
  });

  it('answers bad input with a 4xx and a message, and keeps running', async () => {
    const enqueue = 'jobworkerp.service.JobService/Enqueue';
    const badJson = await postJson(base, enqueue, '{"workerName": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ code: 'invalid_argument' });
    expect(badJson.body['message']).toMatch(/cannot decode message jobworkerp\.service\.JobRequest from JSON/);

    const wrongType = await postJson(base, enqueue, '{"workerName": 42}');
    expect(wrongType.status).toBe(400);
    expect(wrongType.body['message']).toMatch(/worker_name.*expected string/);

    const unknownField = await postJson(base, enqueue, '{"workerNmae": "x"}');
    expect(unknownField.status).toBe(400);
    expect(unknownField.body['message']).toMatch(/key "workerNmae" is unknown/);

    const missing = await postJson(base, enqueue, '{}');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'invalid_argument' });
    expect(missing.body['message']).toMatch(/worker_id or worker_name/);

    const unknownWorker = await postJson(base, enqueue, JSON.stringify({ workerName: `nobody-${tag}` }));
    expect(unknownWorker.status).toBe(404);
    expect(unknownWorker.body['message']).toMatch(/does not exist/);

    const noToken = await postJson(base, enqueue, '{}', {});
    expect(noToken.status).toBe(401);
    expect(noToken.body['message']).toMatch(/missing metadata "jobworkerp-auth"/);
    const wrongToken = await postJson(base, enqueue, '{}', { 'jobworkerp-auth': 'nope' });
    expect(wrongToken.status).toBe(401);
    expect(JSON.stringify(wrongToken.body)).not.toContain(TOKEN);

    // 5 MiB > HTTP_MAX_BODY_BYTES (4 MiB by default): refused before it is read
    const huge = await postJson(base, enqueue, JSON.stringify({ workerName: 'x'.repeat(5 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'resource_exhausted' });
    expect(huge.body['message']).toMatch(/HTTP_MAX_BODY_BYTES/);

    const unknownPath = await postJson(base, 'jobworkerp.service.JobService/Nope', '{}');
    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body['message']).toMatch(/no method at \/jobworkerp\.service\.JobService\/Nope/);

    const wrongMedia = await fetch(`${base}/${enqueue}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'jobworkerp-auth': TOKEN },
      body: 'hello',
    });
    expect(wrongMedia.status).toBe(415);

    expect(front().child.exitCode).toBeNull();
    const still = await postJson(base, 'jobworkerp.service.RunnerService/Count', '{}');
    expect(still.status).toBe(200);
  });
}

describe('gRPC-Web and JSON on all-in-one (Standalone)', () => {
  let server: ServerProcess;
  let schemaDir: string;

  beforeAll(async () => {
    schemaDir = mkdtempSync(join(tmpdir(), 'jw-grpcweb-schema-'));
    const built = await execa(BUF, ['build', '-o', join(schemaDir, 'schema.binpb')], {
      cwd: REPO_ROOT,
      reject: false,
    });
    if (built.exitCode !== 0) throw new Error(`buf build failed: ${built.stderr}`);
    server = await startServer({ env: { ...WEB_ENV, HTTP_CORS_ORIGINS: 'https://app.example' } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (schemaDir !== undefined) rmSync(schemaDir, { recursive: true, force: true });
  });

  describeGateway(
    () => server,
    () => join(schemaDir, 'schema.binpb'),
    'sa',
  );

  it('answers CORS preflights for the listed origins only, and exposes the gRPC-Web headers', async () => {
    const base = await gatewayUrl(server);
    const path = `${base}/jobworkerp.service.JobService/Enqueue`;
    const preflight = (origin: string): Promise<Response> =>
      fetch(path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-grpc-web, jobworkerp-auth',
        },
      });
    const ok = await preflight('https://app.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowed = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['content-type', 'x-grpc-web', 'jobworkerp-auth', 'connect-protocol-version']) {
      expect(allowed).toContain(h);
    }

    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await other.json()) as { message: string }).message).toMatch(/not in HTTP_CORS_ORIGINS/);

    const call = await postJson(base, 'jobworkerp.service.RunnerService/Count', '{}', {
      'jobworkerp-auth': TOKEN,
      origin: 'https://app.example',
    });
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((call.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('grpc-status');
  });

  it('refuses USE_GRPC_WEB=true without HTTP_ADDR, naming both', async () => {
    await expect(startServer({ env: { USE_GRPC_WEB: 'true' } })).rejects.toThrow(/USE_GRPC_WEB=true needs HTTP_ADDR/);
  });
});

describe('gRPC-Web and JSON on Scalable (grpc-front + worker)', () => {
  const keyPrefix = `jwtest-${randomBytes(4).toString('hex')}`;
  let db: { name: string; drop(): Promise<void> } | undefined;
  let front: ServerProcess;
  let worker: ServerProcess;
  let schemaDir: string;

  beforeAll(async () => {
    schemaDir = mkdtempSync(join(tmpdir(), 'jw-grpcweb-schema-'));
    const built = await execa(BUF, ['build', '-o', join(schemaDir, 'schema.binpb')], {
      cwd: REPO_ROOT,
      reject: false,
    });
    if (built.exitCode !== 0) throw new Error(`buf build failed: ${built.stderr}`);
    db = await tempMariaDatabase();
    const env = { ...scalableEnv(db.name, keyPrefix), ...WEB_ENV };
    front = await startServer({ app: 'grpc-front', env });
    worker = await startServer({ app: 'worker', env: { ...env, USE_GRPC_WEB: 'false' } });
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await front?.stop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, keyPrefix);
    await db?.drop();
    if (schemaDir !== undefined) rmSync(schemaDir, { recursive: true, force: true });
  });

  describeGateway(
    () => front,
    () => join(schemaDir, 'schema.binpb'),
    'sc',
  );

  it('sends no CORS headers when HTTP_CORS_ORIGINS is unset', async () => {
    const base = await gatewayUrl(front);
    const call = await postJson(base, 'jobworkerp.service.RunnerService/Count', '{}', {
      'jobworkerp-auth': TOKEN,
      origin: 'https://app.example',
    });
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-allow-origin')).toBeNull();
  });
});
