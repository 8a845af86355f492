/**
 * An error the CLI found itself but reports like a server status (for example a worker name that does not exist,
 * or a server it cannot reach): exit code 1, printed as `error: CODE: message`.
 */
export class StatusError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}
