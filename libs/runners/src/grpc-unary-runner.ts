/**
 * The GRPC_UNARY runner (built-in runner 3): calls one unary gRPC method per job with the job's raw request bytes
 * and returns the raw response bytes. It knows no schema: the bytes go through unchanged.
 *
 * Semantics:
 * - settings `host` and `port` (1..65535) name the server; load() opens one insecure (plaintext HTTP/2) channel to
 *   it, which close() closes;
 * - args `path` is the method's full path `/package.Service/Method` (anything else is fatal), `request` the
 *   serialized request message;
 * - the call gets a deadline of `ctx.timeoutMs` when that is > 0; `ctx.signal` aborted → the call is cancelled and
 *   run() rejects with `ctx.signal.reason`;
 * - OK → one output item, the response bytes; responses larger than `maxResponseBytes` are refused by the channel
 *   (RESOURCE_EXHAUSTED, fatal);
 * - UNAVAILABLE (server down, connection lost) and DEADLINE_EXCEEDED → `RunnerError('retryable')`; every other
 *   status → `RunnerError('fatal')` with the status name and message.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { clip } from '../../core/src/index.js';
import { GrpcUnaryArgs, GrpcUnaryRunnerSettings } from '../../proto/src/index.js';
import { GRPC_UNARY_RUNNER_ID } from './builtin-runners.js';
import { builtinRunnerRow } from './builtin-runner-row.js';
import { decodeRunnerMessage } from './decode-runner-message.js';
import type { FailureKind, RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

/** `/Service/Method` or `/package.Service/Method`: protobuf identifiers, the service possibly qualified. */
const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

/** A host name or address literal; no scheme, path, port or whitespace. */
const HOST = /^(?:[\w.-]+|\[[0-9A-Fa-f:.%\w]+\]|[0-9A-Fa-f:]+)$/;

/** Whether `host` is a host name or an IP address (IPv6 with or without brackets) a gRPC target can use. */
export function isGrpcHost(host: string): boolean {
  return HOST.test(host);
}

const identity = (bytes: Buffer): Buffer => bytes;

export interface GrpcUnaryRunnerOptions {
  /** The largest response accepted, in bytes (RESPONSE_MAX_BYTES); a larger one fails the run as fatal. */
  readonly maxResponseBytes: number;
}

/** Calls a unary gRPC method per job; see the module comment for the exact semantics. */
export class GrpcUnaryRunner implements Runner {
  private client: Client | undefined;
  private address = '';

  constructor(private readonly options: GrpcUnaryRunnerOptions) {}

  async load(settings: Uint8Array): Promise<void> {
    const { host, port } = decodeRunnerMessage('GrpcUnaryRunnerSettings', GrpcUnaryRunnerSettings, settings);
    if (!HOST.test(host)) {
      const message = `GRPC_UNARY runner settings host ${JSON.stringify(clip(host))} is not a host name or address`;
      throw new RunnerError(message, 'fatal');
    }
    if (port < 1 || port > 65535) {
      throw new RunnerError(`GRPC_UNARY runner settings port ${port} is not between 1 and 65535`, 'fatal');
    }
    const bareIpv6 = host.includes(':') && !host.startsWith('[');
    this.address = bareIpv6 ? `[${host}]:${port}` : `${host}:${port}`;
    this.client?.close();
    this.client = new Client(this.address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': this.options.maxResponseBytes,
    });
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const client = this.client;
    if (client === undefined) {
      throw new RunnerError('GRPC_UNARY runner was run before load()', 'other');
    }
    const { path, request } = decodeRunnerMessage('GrpcUnaryArgs', GrpcUnaryArgs, args);
    if (!METHOD_PATH.test(path)) {
      const message = `GRPC_UNARY path ${JSON.stringify(clip(path))} is not a method path like /package.Service/Method`;
      throw new RunnerError(message, 'fatal');
    }
    ctx.signal.throwIfAborted();

    const options = ctx.timeoutMs > 0 ? { deadline: Date.now() + ctx.timeoutMs } : {};
    const response = await new Promise<Buffer>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(request),
        new Metadata(),
        options,
        (error: ServiceError | null, value?: Buffer) => {
          ctx.signal.removeEventListener('abort', cancel);
          if (ctx.signal.aborted) {
            reject(ctx.signal.reason as Error);
          } else if (error !== null) {
            reject(this.failure(path, error));
          } else {
            resolve(value ?? Buffer.alloc(0));
          }
        },
      );
      const cancel = (): void => call.cancel();
      ctx.signal.addEventListener('abort', cancel, { once: true });
    });
    return [response];
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }

  /** A RunnerError for a call that ended with a non-OK status. */
  private failure(path: string, error: ServiceError): RunnerError {
    const name = status[error.code] ?? 'UNKNOWN';
    const tooLarge =
      error.code === status.RESOURCE_EXHAUSTED && /larger than max/i.test(error.details)
        ? ` (responses are limited to ${this.options.maxResponseBytes} bytes, RESPONSE_MAX_BYTES)`
        : '';
    const message = `gRPC ${path} on ${this.address} failed with ${name} (${error.code}): ${error.details}${tooLarge}`;
    return new RunnerError(message, grpcStatusKind(error.code), [], { cause: error });
  }
}

/** The GRPC_UNARY row of the built-in runners, backed by GrpcUnaryRunner. */
export function grpcUnaryRunnerDefinition(options: GrpcUnaryRunnerOptions): RunnerDefinition {
  return { ...builtinRunnerRow(GRPC_UNARY_RUNNER_ID), create: () => new GrpcUnaryRunner(options) };
}

/** UNAVAILABLE and DEADLINE_EXCEEDED may pass on a later attempt; any other non-OK status will not. */
export function grpcStatusKind(code: status): FailureKind {
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED ? 'retryable' : 'fatal';
}
