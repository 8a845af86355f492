/** The command line is wrong (a bad flag value, bad JSON, a field the schema does not know): exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
