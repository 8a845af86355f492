/**
 * Adapters from async functions to grpc-js handlers. They route every failure through toServiceError, stop streams
 * when the client goes away, and never let a rejection escape.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '../../core/src/index.js';
import { CancelledError, InvalidArgumentError } from '../../core/src/index.js';
import { toServiceError } from './grpc-errors.js';
import { MalformedRequest } from './request-decoding.js';

export function unary<Req, Res>(
  method: string,
  logger: Logger,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const malformed = malformedError(call.request);
    if (malformed !== undefined) {
      callback(toServiceError(malformed, method, logger));
      return;
    }
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err, method, logger)),
    );
  };
}

/** A server-streaming handler fed by an async iterable; stops reading it when the client cancels. */
export function serverStream<Req, Res>(
  method: string,
  logger: Logger,
  fn: (request: Req, signal: AbortSignal, call: ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
): (call: ServerWritableStream<Req, Res>) => void {
  return (call) => {
    const malformed = malformedError(call.request);
    if (malformed !== undefined) {
      call.emit('error', toServiceError(malformed, method, logger));
      return;
    }
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort(new CancelledError('client cancelled the call')));
    const pump = async (): Promise<void> => {
      for await (const item of fn(call.request, abort.signal, call)) {
        if (abort.signal.aborted) return;
        if (!call.write(item)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              call.off('drain', done);
              abort.signal.removeEventListener('abort', done);
              resolve();
            };
            call.on('drain', done);
            abort.signal.addEventListener('abort', done);
          });
        }
      }
    };
    pump().then(
      () => {
        if (!abort.signal.aborted) call.end();
      },
      (err: unknown) => {
        if (!abort.signal.aborted) call.emit('error', toServiceError(err, method, logger));
      },
    );
  };
}

/** The INVALID_ARGUMENT for a request that did not decode (see request-decoding.ts). */
function malformedError(request: unknown): InvalidArgumentError | undefined {
  return request instanceof MalformedRequest ? new InvalidArgumentError(request.problem) : undefined;
}
