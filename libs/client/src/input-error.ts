/**
 * Input the client rejects before anything is sent: an address it cannot dial, JSON that is not valid, a field the
 * runner's schema does not know. The message names what was given (the option or argument) and what is wrong.
 */
export class InvalidInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}
