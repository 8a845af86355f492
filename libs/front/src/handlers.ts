/**
 * Adapters from async functions to grpc-js handlers. They route every failure through toServiceError, stop streams
 * when the client goes away, never let a rejection escape, and tell the call observer (observeGrpcCalls) how each
 * call ended.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from '../../core/src/index.js';
import { CancelledError, InvalidArgumentError } from '../../core/src/index.js';
import { toServiceError } from './grpc-errors.js';
import { MalformedRequest } from './request-decoding.js';

/** Told of every call a handler ends: its method (`JobService/Enqueue`) and the status code it ended with. */
export type GrpcCallObserver = (method: string, code: status) => void;

/**
 * The process's call observer (the apps' metrics). One for the whole process rather than a dependency of every
 * service: the handlers are made in many places, and the metrics they feed are the process's too.
 */
let callObserver: GrpcCallObserver | undefined;

/** Sets the observer of ended calls, or none (undefined). It must be cheap and must not throw. */
export function observeGrpcCalls(observer: GrpcCallObserver | undefined): void {
  callObserver = observer;
}

/** The error a call ends with, told to the observer. */
function failed(err: unknown, method: string, logger: Logger): ServiceError {
  const error = toServiceError(err, method, logger);
  callObserver?.(method, error.code ?? status.UNKNOWN);
  return error;
}

export function unary<Req, Res>(
  method: string,
  logger: Logger,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const malformed = malformedError(call.request);
    if (malformed !== undefined) {
      callback(failed(malformed, method, logger));
      return;
    }
    fn(call.request, call).then(
      (res) => {
        callObserver?.(method, status.OK);
        callback(null, res);
      },
      (err: unknown) => callback(failed(err, method, logger)),
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
      call.emit('error', failed(malformed, method, logger));
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
        if (abort.signal.aborted) {
          callObserver?.(method, status.CANCELLED);
          return;
        }
        callObserver?.(method, status.OK);
        call.end();
      },
      (err: unknown) => {
        if (abort.signal.aborted) callObserver?.(method, status.CANCELLED);
        else call.emit('error', failed(err, method, logger));
      },
    );
  };
}

/** The INVALID_ARGUMENT for a request that did not decode (see request-decoding.ts). */
function malformedError(request: unknown): InvalidArgumentError | undefined {
  return request instanceof MalformedRequest ? new InvalidArgumentError(request.problem) : undefined;
}
