/**
 * The domain's typed errors. Each carries a message a person can act on; libs/front maps them to gRPC status
 * codes in exactly one place. Messages never contain secrets (passwords, tokens).
 */
export type ErrorKind =
  | 'not-found'
  | 'invalid-argument'
  | 'already-exists'
  | 'unavailable'
  | 'deadline-exceeded'
  | 'unauthenticated'
  | 'cancelled'
  | 'internal';

export abstract class JobworkerpError extends Error {
  abstract readonly kind: ErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist (a worker, a job, a result). */
export class NotFoundError extends JobworkerpError {
  readonly kind = 'not-found';
}

/** The request is wrong; the message says what to change. */
export class InvalidArgumentError extends JobworkerpError {
  readonly kind = 'invalid-argument';
}

/** A unique name or key is taken. */
export class AlreadyExistsError extends JobworkerpError {
  readonly kind = 'already-exists';
}

/** A backing service (Redis, the database) cannot be reached or a bounded queue is full; retrying later may work. */
export class UnavailableError extends JobworkerpError {
  readonly kind = 'unavailable';
}

/** A wait ran out of time. */
export class DeadlineExceededError extends JobworkerpError {
  readonly kind = 'deadline-exceeded';
}

export class UnauthenticatedError extends JobworkerpError {
  readonly kind = 'unauthenticated';
}

/** The client gave up on its call (cancelled it or let its deadline pass): nobody is left to answer. */
export class CancelledError extends JobworkerpError {
  readonly kind = 'cancelled';
}

/** A bug or an unexpected state. */
export class InternalError extends JobworkerpError {
  readonly kind = 'internal';
}

/** Turns anything thrown into an Error, keeping typed errors as they are. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new InternalError(thrown);
  return new InternalError(`non-error thrown: ${safeString(thrown)}`);
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
