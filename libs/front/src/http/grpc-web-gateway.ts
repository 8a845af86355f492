/**
 * The gRPC-Web and JSON gateway (USE_GRPC_WEB=true, on HTTP_ADDR): every jobworkerp service, and grpc.health.v1, is
 * also served over HTTP/1.1 as gRPC-Web (binary `application/grpc-web+proto` and text `application/grpc-web-text`)
 * and with the Connect protocol (`application/json` and `application/proto` POSTs, so plain curl works).
 *
 * Protocol work is @connectrpc/connect's, with service descriptors built at run time from our FileDescriptorSet. Each
 * call is forwarded, as protobuf bytes, through a private loopback channel to this process's own gRPC server
 * (GrpcServer.openLoopback), so auth, request checks, error mapping, metrics and logging are the gRPC port's own:
 * the `jobworkerp-auth` header (and `traceparent`/`tracestate`) travel as metadata, the gRPC status comes back with
 * its code and message, streams are forwarded message by message, and a client that goes away cancels its call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { Code, ConnectError, cors, createConnectRouter } from '@connectrpc/connect';
import type { UniversalServerRequest, UniversalServerResponse } from '@connectrpc/connect/protocol';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import type { ClientDuplexStream, ClientReadableStream, ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import type { Logger } from '../../../core/src/index.js';
import { clip } from '../../../core/src/index.js';
import { fileDescriptorSetBase64 } from '../../../proto/src/index.js';
import { AUTH_METADATA_KEY } from '../auth.js';
import { connectErrorOf } from './connect-errors.js';
import type { HttpHandler, HttpListener, TlsMaterial } from './http-listener.js';
import { startHttpListener } from './http-listener.js';

/** Request headers forwarded to the gRPC call as metadata (every other header stays at the HTTP layer). */
export const FORWARDED_HEADERS: readonly string[] = [AUTH_METADATA_KEY, 'traceparent', 'tracestate'];

export interface GrpcWebHandlerOptions {
  /** the grpc-js target of this process's gRPC server: GrpcServer.openLoopback() */
  readonly target: string;
  /** origins browsers may call from (HTTP_CORS_ORIGINS); `*` allows any; none = no CORS headers */
  readonly corsOrigins: readonly string[];
  /** the largest request body (HTTP_MAX_BODY_BYTES) */
  readonly maxBodyBytes: number;
  /** the largest message either way, as on the gRPC port (GRPC_MAX_MESSAGE_BYTES) */
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /** answers requests for other paths (other HTTP surfaces on the same listener); 404 when absent */
  readonly fallback?: HttpHandler;
}

export interface GrpcWebHandler {
  readonly handler: HttpHandler;
  /** the services served: `jobworkerp.service.JobService`... */
  readonly serviceNames: readonly string[];
  /**
   * Refuses new calls (UNAVAILABLE), waits up to graceMs for the calls in flight, then cancels the rest and closes
   * the loopback channel. Idempotent.
   */
  close(graceMs: number): Promise<void>;
}

let cachedServices: readonly DescService[] | undefined;

/** The services of proto/ the gateway serves: every jobworkerp.* service and grpc.health.v1.Health. */
export function gatewayServices(): readonly DescService[] {
  if (cachedServices !== undefined) return cachedServices;
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(fileDescriptorSetBase64, 'base64'));
  const services: DescService[] = [];
  for (const type of createFileRegistry(set)) {
    if (type.kind !== 'service') continue;
    if (type.typeName.startsWith('jobworkerp.') || type.typeName === 'grpc.health.v1.Health') services.push(type);
  }
  cachedServices = services;
  return services;
}

const identity = (bytes: Buffer): Buffer => bytes;

export function createGrpcWebHandler(options: GrpcWebHandlerOptions): GrpcWebHandler {
  const { logger, maxMessageBytes } = options;
  const readMaxBytes = Math.min(options.maxBodyBytes, maxMessageBytes);
  const client = new Client(options.target, credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
  const shutdown = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  /** Refuses a call once closing (with the protocol's own error shape: Connect answers what the method throws). */
  const admit = (method: string): void => {
    if (closing !== undefined) {
      throw new ConnectError(`the server is shutting down; retry ${method} on another instance`, Code.Unavailable);
    }
  };

  const services = gatewayServices();
  const routes = (router: ConnectRouter): void => {
    for (const service of services) {
      for (const method of service.methods) {
        router.rpc(method, bridgeMethod(method, { client, logger, admit }) as never);
      }
    }
  };

  const router = createConnectRouter({
    grpc: false,
    grpcWeb: true,
    connect: true,
    acceptCompression: [compressionGzip, compressionBrotli],
    readMaxBytes,
    writeMaxBytes: maxMessageBytes,
    requireConnectProtocolHeader: false,
    // a field name the message does not have is an error naming it, not silently dropped; answers show every field
    jsonOptions: { ignoreUnknownFields: false, alwaysEmitImplicit: true },
    shutdownSignal: shutdown.signal,
  });
  routes(router);
  const byPath = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const fallback = options.fallback ?? notFound;
  const allowOrigin = corsPolicy(options.corsOrigins);

  const handler: HttpHandler = (req, res) => {
    const uHandler = byPath.get((req.url ?? '/').split('?')[0] ?? '/');
    if (uHandler === undefined) return fallback(req, res);
    const origin = req.headers.origin;
    const allowed = origin === undefined ? undefined : allowOrigin(origin);
    if (allowed !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', allowed);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', cors.exposedHeaders.join(', '));
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      preflight(res, origin, allowed, options.corsOrigins.length > 0);
      return;
    }
    // a body declared larger than the limit is refused before it is read
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
      sendError(
        res,
        413,
        Code.ResourceExhausted,
        `the request body is ${declared} bytes, more than HTTP_MAX_BODY_BYTES (${options.maxBodyBytes}); send less`,
      );
      return;
    }
    const text = GRPC_WEB_TEXT.test(req.headers['content-type'] ?? '');
    const uReq = universalRequestFromNodeRequest(req, res, undefined, undefined);
    // counted until the answer is written (or the client is gone), so close() does not cut it
    const answered = new Promise<void>((resolve) => res.once('close', resolve));
    inFlight.add(answered);
    void answered.then(() => inFlight.delete(answered));
    // not awaited: the writer's promise waits for an 'end' event a Node ServerResponse does not emit
    uHandler(text ? webTextRequest(uReq) : uReq)
      .then((uRes) => universalResponseToNodeResponse(text ? webTextResponse(uRes) : uRes, res))
      .catch((reason: unknown) => {
        // the client went away while the answer was written: nothing to tell it
        logger.debug({ err: reason, method: uHandler.method.name }, 'a gRPC-Web/JSON answer was not delivered');
        if (!res.writableEnded) res.destroy();
      });
  };

  return {
    handler,
    serviceNames: services.map((s) => s.typeName),
    close: (graceMs) =>
      (closing ??= (async () => {
        if (inFlight.size > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.allSettled([...inFlight]),
            new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
          ]);
          clearTimeout(timer);
        }
        shutdown.abort(new ConnectError('the server is shutting down', Code.Unavailable));
        client.close();
      })()),
  };
}

export interface GrpcWebGatewayOptions extends GrpcWebHandlerOptions {
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  /** serve HTTPS with this material; plain HTTP when absent */
  readonly tls?: TlsMaterial;
}

export interface GrpcWebGateway {
  readonly url: string;
  readonly port: number;
  /** drains the calls in flight up to graceMs (new ones get UNAVAILABLE), then closes the listener; idempotent */
  stop(graceMs: number): Promise<void>;
}

/** The gateway on its own HTTP/1.1 listener (HTTP_ADDR). */
export async function startGrpcWebGateway(options: GrpcWebGatewayOptions): Promise<GrpcWebGateway> {
  const gateway = createGrpcWebHandler(options);
  let listener: HttpListener;
  try {
    listener = await startHttpListener({
      setting: 'HTTP_ADDR',
      host: options.host,
      port: options.port,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      handler: gateway.handler,
      logger: options.logger,
    });
  } catch (err) {
    await gateway.close(0);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: listener.url,
    port: listener.port,
    stop: (graceMs) =>
      (stopping ??= (async () => {
        await gateway.close(graceMs);
        await listener.close();
      })()),
  };
}

interface Bridge {
  readonly client: Client;
  readonly logger: Logger;
  admit(method: string): void;
}

type AnyImpl = (input: unknown, ctx: HandlerContext) => unknown;

/** The Connect implementation of one method: forwards it over the loopback channel. */
function bridgeMethod(method: DescMethod, bridge: Bridge): AnyImpl {
  const path = `/${method.parent.typeName}/${method.name}`;
  const name = `${method.parent.name}/${method.name}`;
  const encode = (message: unknown): Buffer =>
    Buffer.from(toBinary(method.input, message as Parameters<typeof toBinary>[1]));
  const decode = (bytes: Buffer): unknown => fromBinary(method.output, bytes);
  const fail = (err: unknown): ConnectError => connectErrorOf(err, name, bridge.logger);
  const { client } = bridge;

  switch (method.methodKind) {
    case 'unary':
      return (input, ctx) => {
        bridge.admit(name);
        return new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(
            path,
            identity,
            identity,
            encode(input),
            metadataOf(ctx),
            callOptionsOf(ctx),
            (err: ServiceError | null, reply?: Buffer) => {
              ctx.signal.removeEventListener('abort', cancel);
              if (err !== null || reply === undefined) reject(fail(err));
              else {
                try {
                  resolve(decode(reply));
                } catch (decodeErr) {
                  reject(fail(decodeErr));
                }
              }
            },
          );
          const cancel = (): void => call.cancel();
          ctx.signal.addEventListener('abort', cancel, { once: true });
        });
      };
    case 'server_streaming':
      return (input, ctx) => {
        bridge.admit(name);
        const call = client.makeServerStreamRequest(
          path,
          identity,
          identity,
          encode(input),
          metadataOf(ctx),
          callOptionsOf(ctx),
        );
        return forwardReplies(call, ctx, decode, fail);
      };
    case 'client_streaming':
      return (inputs, ctx) => {
        bridge.admit(name);
        return new Promise((resolve, reject) => {
          const call: ClientWritableStream<Buffer> = client.makeClientStreamRequest(
            path,
            identity,
            identity,
            metadataOf(ctx),
            callOptionsOf(ctx),
            (err: ServiceError | null, reply?: Buffer) => {
              ctx.signal.removeEventListener('abort', cancel);
              if (err !== null || reply === undefined) reject(fail(err));
              else resolve(decode(reply));
            },
          );
          const cancel = (): void => call.cancel();
          ctx.signal.addEventListener('abort', cancel, { once: true });
          void pumpRequests(inputs as AsyncIterable<unknown>, call, encode).catch((err: unknown) => {
            call.cancel();
            reject(fail(err));
          });
        });
      };
    case 'bidi_streaming':
      return (inputs, ctx) => {
        bridge.admit(name);
        const call: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(
          path,
          identity,
          identity,
          metadataOf(ctx),
          callOptionsOf(ctx),
        );
        let pumpError: unknown;
        void pumpRequests(inputs as AsyncIterable<unknown>, call, encode).catch((err: unknown) => {
          pumpError = err;
          call.cancel();
        });
        return forwardReplies(call, ctx, decode, (err) => fail(pumpError ?? err));
      };
  }
}

/** The replies of a streaming call, decoded, as Connect wants them; the call is cancelled if the client goes away. */
function forwardReplies(
  call: ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>,
  ctx: HandlerContext,
  decode: (bytes: Buffer) => unknown,
  fail: (err: unknown) => ConnectError,
): AsyncIterable<unknown> {
  const cancel = (): void => call.cancel();
  ctx.signal.addEventListener('abort', cancel, { once: true });
  const source = (call as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  return (async function* replies() {
    try {
      for (;;) {
        let reply: unknown;
        try {
          const next = await source.next();
          if (next.done === true) return;
          reply = decode(next.value);
        } catch (err) {
          throw fail(err);
        }
        // what the HTTP side throws in here (a client gone) ends the call as it is, not as a gRPC error
        yield reply;
      }
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
      // ends the gRPC call when the HTTP client stopped reading early (no-op after the status came)
      call.cancel();
    }
  })();
}

/** Writes each request message to the gRPC call, with back-pressure, then half-closes it. */
async function pumpRequests(
  inputs: AsyncIterable<unknown>,
  call: ClientWritableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>,
  encode: (message: unknown) => Buffer,
): Promise<void> {
  for await (const message of inputs) {
    if (!call.write(encode(message))) {
      await new Promise<void>((resolve) => {
        call.once('drain', resolve);
        call.once('close', resolve);
      });
    }
  }
  call.end();
}

function metadataOf(ctx: HandlerContext): Metadata {
  const metadata = new Metadata();
  for (const name of FORWARDED_HEADERS) {
    const value = ctx.requestHeader.get(name);
    if (value !== null) metadata.set(name, value);
  }
  return metadata;
}

function callOptionsOf(ctx: HandlerContext): { deadline?: number } {
  const timeoutMs = ctx.timeoutMs();
  return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
}

/** The Access-Control-Allow-Origin value for an origin, or undefined when it may not call. */
function corsPolicy(origins: readonly string[]): (origin: string) => string | undefined {
  const any = origins.includes('*');
  const listed = new Set(origins);
  return (origin) => (any ? '*' : listed.has(origin) ? origin : undefined);
}

/**
 * gRPC-Web text: the binary gRPC-Web stream in base64, both ways (what browsers without binary streaming send).
 * Connect serves binary gRPC-Web; these two turn a text call into a binary one and its answer back into text.
 */
const GRPC_WEB_TEXT = /^application\/grpc-web-text(?:\+proto)?\s*(?:;|$)/i;

function webTextRequest(uReq: UniversalServerRequest): UniversalServerRequest {
  const header = new Headers(uReq.header);
  header.set('content-type', 'application/grpc-web+proto');
  return { ...uReq, header, body: fromBase64(uReq.body as AsyncIterable<Uint8Array>) };
}

function webTextResponse(uRes: UniversalServerResponse): UniversalServerResponse {
  const header = new Headers(uRes.header);
  if (header.has('content-type')) header.set('content-type', 'application/grpc-web-text+proto');
  return { ...uRes, header, ...(uRes.body === undefined ? {} : { body: toBase64(uRes.body) }) };
}

/** Each chunk on its own, padded: a message is never held back waiting for the bytes of the next. */
async function* toBase64(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield Buffer.from(Buffer.from(chunk).toString('base64'), 'latin1');
}

/** Decodes base64 as it arrives; a client may pad each frame on its own, so padding may come mid-stream. */
async function* fromBase64(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending = '';
  for await (const chunk of body) {
    pending += Buffer.from(chunk).toString('latin1').replace(/\s+/g, '');
    if (/[^A-Za-z0-9+/=]/.test(pending)) {
      throw new ConnectError('the application/grpc-web-text body is not base64', Code.InvalidArgument);
    }
    const usable = pending.length - (pending.length % 4);
    const groups = pending.slice(0, usable);
    pending = pending.slice(usable);
    // split after each padding, where a new base64 run starts
    for (const run of groups.split(/(?<==)(?=[^=])/)) {
      if (run !== '') yield Buffer.from(run, 'base64');
    }
  }
  if (pending !== '') {
    throw new ConnectError('the application/grpc-web-text body ends inside a base64 group', Code.InvalidArgument);
  }
}

/** Headers a browser may send: what gRPC-Web and Connect need, and ours. */
const ALLOWED_HEADERS = [...cors.allowedHeaders, ...FORWARDED_HEADERS].join(', ');

function preflight(
  res: ServerResponse,
  origin: string | undefined,
  allowed: string | undefined,
  enabled: boolean,
): void {
  if (allowed === undefined) {
    const why = enabled
      ? `the origin ${JSON.stringify(clip(origin ?? '', 200))} is not in HTTP_CORS_ORIGINS`
      : 'cross-origin calls are off; list the origins in HTTP_CORS_ORIGINS';
    sendError(res, 403, Code.PermissionDenied, why);
    return;
  }
  res.writeHead(204, {
    'Access-Control-Allow-Methods': cors.allowedMethods.join(', '),
    'Access-Control-Allow-Headers': ALLOWED_HEADERS,
    'Access-Control-Max-Age': '7200',
  });
  res.end();
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  const path = clip((req.url ?? '/').split('?')[0] ?? '/', 200);
  sendError(
    res,
    404,
    Code.Unimplemented,
    `no method at ${path}; call POST /<package.Service>/<Method>, e.g. /jobworkerp.service.JobService/Enqueue`,
  );
}

/**
 * An error answer shaped as the Connect protocol's (`{"code": "...", "message": "..."}`), so clients read it. A body
 * left unread is discarded by Node before the connection takes its next request (within the listener's request
 * timeout), so the client gets this answer rather than a reset connection.
 */
function sendError(
  res: ServerResponse,
  httpStatus: number,
  code: Code,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = `${JSON.stringify({ code: codeName(code), message })}\n`;
  res.writeHead(httpStatus, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Connect's wire name of a code: ResourceExhausted → resource_exhausted. */
const codeName = (code: Code): string => Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, '_').toLowerCase();
