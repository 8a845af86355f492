/**
 * A stand-in for the Docker Engine API on a unix socket, for protocol-level tests of the DOCKER runner: it speaks
 * the few endpoints the runner uses (image pull, container create/start/logs/wait/kill/remove), records every
 * call, and plays a scripted "container". No container runs: the container's Cmd is its script, one step per
 * element:
 *   `out:<text>` / `err:<text>`  write a line to stdout / stderr
 *   `big:<bytes>`                 write that many bytes to stdout
 *   `sleep:<ms>`                  pause
 *   `exit:<code>`                 exit with that code (the default is 0 after the last step)
 *   `hang`                        never exit until killed
 * Images: those given at start are present; `pullable` ones appear when pulled; a pull of an image whose name
 * contains "broken" fails inside the progress stream; any other pull answers 404.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedCall {
  readonly method: string;
  /** the path without the API version prefix and query, e.g. /containers/abc/start */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export interface FakeContainer {
  readonly id: string;
  /** the create request's body */
  readonly config: Record<string, unknown>;
  state: 'created' | 'running' | 'exited';
  exitCode: number | undefined;
  killed: boolean;
  removed: boolean;
}

export interface FakeDockerEngine {
  readonly socketPath: string;
  readonly calls: RecordedCall[];
  readonly containers: Map<string, FakeContainer>;
  /** the status code every containers/create answers with instead of creating (e.g. 500), when set */
  failCreateWith: number | undefined;
  callsTo(method: string, pattern: RegExp): RecordedCall[];
  close(): Promise<void>;
}

interface LiveContainer extends FakeContainer {
  readonly frames: Buffer[];
  readonly listeners: Set<() => void>;
  kill(): void;
}

export async function startFakeDockerEngine(
  options: { images?: string[]; pullable?: string[] } = {},
): Promise<FakeDockerEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'jw-docker-'));
  const socketPath = join(dir, 'docker.sock');
  const images = new Set((options.images ?? []).map(normalize));
  const pullable = new Set((options.pullable ?? []).map(normalize));
  const containers = new Map<string, LiveContainer>();
  const calls: RecordedCall[] = [];

  const engine: FakeDockerEngine = {
    socketPath,
    calls,
    containers,
    failCreateWith: undefined,
    callsTo: (method, pattern) => calls.filter((c) => c.method === method && pattern.test(c.path)),
    close: async () => {
      for (const container of containers.values()) container.kill();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { message: String(err) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const raw = await readBody(req);
    const body: unknown = raw === '' ? undefined : JSON.parse(raw);
    calls.push({ method: req.method ?? '', path, query: url.searchParams, body });

    if (req.method === 'GET' && path === '/_ping') return text(res, 200, 'OK');
    if (req.method === 'POST' && path === '/images/create') return pull(url.searchParams, res);
    if (req.method === 'POST' && path === '/containers/create') return create(body as Record<string, unknown>, res);
    const match = /^\/containers\/([0-9a-f]+)(?:\/(start|logs|wait|kill))?$/.exec(path);
    const container = match?.[1] === undefined ? undefined : containers.get(match[1]);
    if (match === null) return json(res, 404, { message: `page not found: ${path}` });
    if (container === undefined || container.removed)
      return json(res, 404, { message: `No such container: ${match[1]}` });
    switch (`${req.method} ${match[2] ?? ''}`) {
      case 'POST start':
        return start(container, res);
      case 'GET logs':
        return logs(container, res);
      case 'POST wait':
        return wait(container, res);
      case 'POST kill':
        if (container.state !== 'running')
          return json(res, 409, { message: `Container ${container.id} is not running` });
        container.kill();
        return empty(res);
      case 'DELETE ':
        if (container.state === 'running' && url.searchParams.get('force') !== 'true') {
          return json(res, 409, { message: 'You cannot remove a running container' });
        }
        container.kill();
        container.removed = true;
        return empty(res);
      default:
        return json(res, 404, { message: `page not found: ${req.method} ${path}` });
    }
  }

  function pull(query: URLSearchParams, res: ServerResponse): void {
    const name = query.get('fromImage') ?? '';
    const tag = query.get('tag');
    const image = normalize(tag === null || tag === '' ? name : `${name}:${tag}`);
    if (name.includes('broken')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ status: 'Pulling from library/broken' })}\n`);
      res.end(`${JSON.stringify({ errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' })}\n`);
      return;
    }
    if (!pullable.has(image) && !images.has(image)) {
      return json(res, 404, {
        message: `pull access denied for ${name}, repository does not exist or may require 'docker login'`,
      });
    }
    images.add(image);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ status: `Pulling from ${name}`, id: tag ?? 'latest' })}\n`);
    res.end(`${JSON.stringify({ status: `Status: Downloaded newer image for ${image}` })}\n`);
  }

  function create(config: Record<string, unknown>, res: ServerResponse): void {
    if (engine.failCreateWith !== undefined)
      return json(res, engine.failCreateWith, { message: 'engine is having a bad day' });
    const image = normalize(String(config['Image']));
    if (!images.has(image)) return json(res, 404, { message: `No such image: ${image}` });
    const id = randomBytes(32).toString('hex');
    const exited = new Set<() => void>();
    const container: LiveContainer = {
      id,
      config,
      state: 'created',
      exitCode: undefined,
      killed: false,
      removed: false,
      frames: [],
      listeners: exited,
      kill: () => {
        if (container.state === 'exited') return;
        container.killed = true;
        finish(container, 137);
      },
    };
    containers.set(id, container);
    json(res, 201, { Id: id, Warnings: [] });
  }

  function start(container: LiveContainer, res: ServerResponse): void {
    if (container.state !== 'created') {
      res.writeHead(304);
      res.end();
      return;
    }
    container.state = 'running';
    void play(container);
    empty(res);
  }

  function logs(container: LiveContainer, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
    let sent = 0;
    const flush = (): void => {
      while (sent < container.frames.length) res.write(container.frames[sent++]);
      if (container.state === 'exited') {
        container.listeners.delete(flush);
        res.end();
      }
    };
    container.listeners.add(flush);
    res.on('close', () => container.listeners.delete(flush));
    flush();
  }

  function wait(container: LiveContainer, res: ServerResponse): void {
    const answer = (): void => {
      if (container.state !== 'exited') return;
      container.listeners.delete(answer);
      json(res, 200, { StatusCode: container.exitCode, Error: null });
    };
    container.listeners.add(answer);
    res.on('close', () => container.listeners.delete(answer));
    answer();
  }

  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return engine;
}

/** Plays the container's script (its Cmd). */
async function play(container: LiveContainer): Promise<void> {
  const steps = Array.isArray(container.config['Cmd']) ? (container.config['Cmd'] as string[]) : [];
  const emit = (stream: 1 | 2, payload: Buffer): void => {
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    container.frames.push(Buffer.concat([header, payload]));
    for (const listener of [...container.listeners]) listener();
  };
  for (const step of steps) {
    if (container.state !== 'running') return;
    const [op, ...rest] = step.split(':');
    const arg = rest.join(':');
    if (op === 'out') emit(1, Buffer.from(`${arg}\n`));
    else if (op === 'err') emit(2, Buffer.from(`${arg}\n`));
    else if (op === 'big') emit(1, Buffer.alloc(Number(arg), 'x'));
    else if (op === 'sleep') await new Promise((resolve) => setTimeout(resolve, Number(arg)));
    else if (op === 'exit') return finish(container, Number(arg));
    else if (op === 'hang') return;
  }
  if (container.state === 'running') finish(container, 0);
}

function finish(container: LiveContainer, code: number): void {
  container.state = 'exited';
  container.exitCode = code;
  for (const listener of [...container.listeners]) listener();
}

function normalize(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? image : `${image}:latest`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

function empty(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}
