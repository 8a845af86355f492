/**
 * The base of every HTTP surface of a front (the gRPC-Web/JSON gateway, the poulpe and poussetaches APIs): a listener
 * over plain HTTP/1.1 or over TLS, with bounded request bodies, JSON answers, and one place where a handler's error
 * becomes an HTTP status with a message a person can act on. Nothing a client sends can crash the process: a handler
 * that throws answers 4xx/5xx, a broken socket is logged and dropped.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Logger } from '../../../core/src/index.js';
import { clip, coerceError, JobworkerpError } from '../../../core/src/index.js';
import { httpStatusOf } from '../grpc-errors.js';

/** Key material of a TLS listener, read from the files the config names. */
export interface TlsMaterial {
  /** PEM certificate chain */
  readonly cert: Buffer;
  /** PEM private key */
  readonly key: Buffer;
  /** PEM CA of client certificates: when set, clients must present a certificate it signed (mutual TLS) */
  readonly clientCa?: Buffer;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpListenerOptions {
  /** the setting that names the address, quoted in errors (e.g. 'HTTP_ADDR') */
  readonly setting: string;
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  /** serve HTTPS with this material; plain HTTP when absent */
  readonly tls?: TlsMaterial;
  readonly handler: HttpHandler;
  readonly logger: Logger;
  /** sockets open at once; more are refused. @default 1000 */
  readonly maxConnections?: number;
  /** how long a request (headers and body) may take to arrive; 0 = no limit (long polls). @default 300000 */
  readonly requestTimeoutMs?: number;
}

export interface HttpListener {
  /** the port it listens on (useful with port 0) */
  readonly port: number;
  /** `http://host:port` or `https://host:port` */
  readonly url: string;
  /** stops listening and closes open connections; idempotent */
  close(): Promise<void>;
}

/** An error a handler throws to answer with this HTTP status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The longest error message sent back; client values quoted in messages are clipped before, this is the backstop. */
const MAX_ERROR_CHARS = 2000;

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const { host, logger, setting } = options;
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    void runHandler(options.handler, req, res, logger);
  };
  const server: Server =
    options.tls === undefined
      ? createServer(serve)
      : createTlsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
          serve,
        );
  server.maxConnections = options.maxConnections ?? 1000;
  server.requestTimeout = options.requestTimeoutMs ?? 300_000;
  // the headers must arrive within the request's own limit too (Node's default, 60 s, may be longer)
  if (server.requestTimeout > 0) server.headersTimeout = Math.min(server.headersTimeout, server.requestTimeout);
  server.on('clientError', (err, socket) => {
    logger.debug({ err, setting }, 'a bad HTTP request was dropped');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  if (options.tls !== undefined) {
    server.on('tlsClientError', (err: Error) => logger.debug({ err, setting }, 'a TLS handshake failed'));
  }
  const port = await new Promise<number>((resolve, reject) => {
    const failed = (err: Error): void =>
      reject(new Error(`cannot listen on ${hostPort(host, options.port)} (${setting}): ${err.message}`));
    server.once('error', failed);
    server.listen({ host, port: options.port }, () => {
      server.off('error', failed);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : options.port);
    });
  });
  server.on('error', (err) => logger.error({ err, setting }, 'an HTTP listener failed'));
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${options.tls === undefined ? 'http' : 'https'}://${hostPort(host, port)}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function runHandler(
  handler: HttpHandler,
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
): Promise<void> {
  try {
    await handler(req, res);
  } catch (thrown) {
    const { status, message, headers } = toHttpError(thrown, req, logger);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status, { error: message }, headers);
  }
}

/** The status and message for anything a handler throws; what the client cannot fix is logged, not sent. */
function toHttpError(
  thrown: unknown,
  req: IncomingMessage,
  logger: Logger,
): { status: number; message: string; headers: Readonly<Record<string, string>> } {
  if (thrown instanceof HttpError) {
    return { status: thrown.status, message: clip(thrown.message, MAX_ERROR_CHARS), headers: thrown.headers };
  }
  const err = coerceError(thrown);
  const path = (req.url ?? '/').split('?')[0];
  if (err instanceof JobworkerpError) {
    const status = httpStatusOf(err.kind);
    if (status >= 500) logger.warn({ err, method: req.method, path }, 'HTTP request failed');
    return { status, message: clip(err.message, MAX_ERROR_CHARS), headers: {} };
  }
  logger.error({ err, method: req.method, path }, 'unexpected error in an HTTP handler');
  return {
    status: 500,
    message: `internal error in ${req.method ?? 'GET'} ${path}; the server log has details`,
    headers: {},
  };
}

/**
 * The most bytes of a refused (too large) body that are read and dropped so the client gets its 413: closing a socket
 * with unread data resets it, and the client would lose the answer. A client sending more is cut off.
 */
const MAX_DISCARDED_BYTES = 64 * 1024 * 1024;

/**
 * The request body, at most `maxBytes` of it: a larger body is refused with 413 as soon as it passes the limit
 * (declared or not); the rest is read and dropped, up to a bound, so the answer reaches the client.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(req, maxBytes, 0));
  // plain events, not `for await`: leaving an async iterator early destroys the request, and with it the socket
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      done();
      reject(tooLarge(req, maxBytes, size));
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      done();
      reject(new HttpError(400, `the request body could not be read: ${err.message}`));
    };
    const done = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function tooLarge(req: IncomingMessage, maxBytes: number, alreadyRead: number): HttpError {
  if (!req.complete) {
    let discarded = alreadyRead;
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > MAX_DISCARDED_BYTES) req.socket.destroy();
    });
    req.resume();
  }
  return new HttpError(413, `the request body is larger than ${maxBytes} bytes; send less`);
}

/** The body parsed as JSON; 400 naming the problem when it is not JSON (the body itself is quoted clipped). */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  if (body.length === 0) throw new HttpError(400, 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, `the request body is not JSON: ${clip(coerceError(err).message, 200)}`);
  }
}

/** Answers `body` as JSON (HEAD requests get the headers only). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
