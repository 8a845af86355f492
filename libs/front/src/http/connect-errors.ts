/**
 * The gRPC status a bridged call ended with, as the Connect error the gRPC-Web/JSON gateway answers. Kept apart from
 * grpc-errors.ts (where the domain errors get their codes) so that Connect loads only with the gateway.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from '../../../core/src/index.js';
import { clip, coerceError } from '../../../core/src/index.js';
import { MAX_STATUS_DETAILS_CHARS } from '../grpc-errors.js';

/** The gRPC codes 1..16; Connect's Code numbers them the same (0 = OK is no error). */
const GRPC_ERROR_CODES = new Set<number>(Object.values(Code).filter((v): v is Code => typeof v === 'number'));

/**
 * The Connect error for the status a gRPC call ended with, for the gRPC-Web/JSON gateway: the same code and message a
 * gRPC client gets (Connect then answers it as gRPC-Web trailers, or as the HTTP status of its code: 400
 * INVALID_ARGUMENT, 401 UNAUTHENTICATED, 404 NOT_FOUND, 409 ALREADY_EXISTS, 503 UNAVAILABLE... as {@link httpStatusOf}).
 * Anything that is not a gRPC status becomes INTERNAL without its text, which is logged instead.
 */
export function connectErrorOf(thrown: unknown, method: string, logger: Logger): ConnectError {
  if (thrown instanceof ConnectError) return thrown;
  const err = coerceError(thrown) as Partial<ServiceError> & Error;
  if (typeof err.code === 'number' && GRPC_ERROR_CODES.has(err.code)) {
    const details = typeof err.details === 'string' ? err.details : err.message;
    return new ConnectError(clip(details, MAX_STATUS_DETAILS_CHARS), err.code as number as Code);
  }
  logger.error({ err, method }, 'unexpected error in the gRPC-Web gateway');
  return new ConnectError(`internal error in ${method}; the server log has details`, Code.Internal);
}
