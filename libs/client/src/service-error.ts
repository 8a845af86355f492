import type { ServiceError } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';

/**
 * An error shaped as grpc-js shapes a failed call's (`code`, `details`, `metadata`, message `CODE NAME: details`), for
 * a failure that reached the client another way than as a call's status: one job's outcome of a batch or a stream.
 * Code that handles the error of a unary call handles this one alike.
 */
export function serviceError(code: status, details: string): ServiceError {
  const name = status[code] ?? 'UNKNOWN';
  return Object.assign(new Error(`${code} ${name}: ${details}`), { code, details, metadata: new Metadata() });
}

/** Whether `err` is a failed call's error (or one made by serviceError). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}
