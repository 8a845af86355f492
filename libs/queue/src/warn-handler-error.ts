import { coerceError } from '../../core/src/index.js';

/**
 * The default for `onHandlerError`: a process warning, so a listener that throws is visible without stopping the
 * other listeners or the publisher.
 */
export function warnHandlerError(error: unknown): void {
  const coerced = coerceError(error);
  process.emitWarning(`a result or cancellation listener threw: ${coerced.message}`, {
    type: 'ListenerError',
    detail: coerced.stack,
  });
}
