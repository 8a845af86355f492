import type { TlsProblem } from './connection-diagnosis.js';

/**
 * An error the CLI found itself but reports like a server status (for example a worker name that does not exist,
 * or a server it cannot reach): exit code 1, printed as `error: CODE: message`.
 */
export class StatusError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'UNAVAILABLE',
    message: string,
    /** set when a connection failed for a TLS reason (the message tells it) */
    readonly tlsProblem?: TlsProblem,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}
