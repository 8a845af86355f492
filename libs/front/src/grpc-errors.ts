/**
 * The one mapping from domain errors to gRPC status codes. Every service handler goes through it, so a client
 * always gets a status with a message it can act on, and an unexpected error never crashes the process.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import type { ErrorKind, Logger } from '../../core/src/index.js';
import { clip, coerceError, JobworkerpError } from '../../core/src/index.js';

const CODES: Record<ErrorKind, status> = {
  'not-found': status.NOT_FOUND,
  'invalid-argument': status.INVALID_ARGUMENT,
  'already-exists': status.ALREADY_EXISTS,
  unavailable: status.UNAVAILABLE,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  unauthenticated: status.UNAUTHENTICATED,
  cancelled: status.CANCELLED,
  internal: status.INTERNAL,
};

/**
 * The HTTP status of each kind, for the HTTP surfaces (as gRPC-Web and Connect map the gRPC codes: 499 is the
 * de facto "client closed request").
 */
const HTTP_STATUSES: Record<ErrorKind, number> = {
  'not-found': 404,
  'invalid-argument': 400,
  'already-exists': 409,
  unavailable: 503,
  'deadline-exceeded': 504,
  unauthenticated: 401,
  cancelled: 499,
  internal: 500,
};

/** The HTTP status for an error kind; the HTTP surfaces answer with it, so HTTP and gRPC clients see the same error. */
export function httpStatusOf(kind: ErrorKind): number {
  return HTTP_STATUSES[kind];
}

/**
 * The longest status message sent. Messages quote client values cut to a few hundred characters already; this is
 * the backstop that keeps any message far below the size at which grpc-js clients stop receiving the status.
 */
export const MAX_STATUS_DETAILS_CHARS = 2000;

/** The gRPC status for anything thrown by a handler; logs what the client cannot fix. */
export function toServiceError(thrown: unknown, method: string, logger: Logger): ServiceError {
  const err = coerceError(thrown);
  let code: status;
  let details: string;
  if (err instanceof JobworkerpError) {
    code = CODES[err.kind];
    details = clip(err.message, MAX_STATUS_DETAILS_CHARS);
    if (code === status.CANCELLED) logger.info({ method, reason: details }, 'the client cancelled its call');
    if (code === status.INTERNAL || code === status.UNAVAILABLE) logger.warn({ err, method }, 'request failed');
  } else {
    code = status.INTERNAL;
    details = `internal error in ${method}; the server log has details`;
    logger.error({ err, method }, 'unexpected error');
  }
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/**
 * The status code and message a call that threw `thrown` answers (as toServiceError makes them, without logging):
 * what a trace records of a failed call, so a span says no more than the caller was told.
 */
export function callStatusOf(thrown: unknown, method: string): { code: status; details: string } {
  const err = coerceError(thrown);
  return err instanceof JobworkerpError
    ? { code: CODES[err.kind], details: clip(err.message, MAX_STATUS_DETAILS_CHARS) }
    : { code: status.INTERNAL, details: `internal error in ${method}; the server log has details` };
}
