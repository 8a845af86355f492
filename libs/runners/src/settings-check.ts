/**
 * Checks of a worker's runner_settings at WorkerService.Create and Update, so settings that could only fail at run
 * time are refused up front with INVALID_ARGUMENT naming the field. Each built-in runner has its check next to it
 * (`<runner>-settings-check.ts`); a runner definition (a plugin too) offers one as `validateSettings`.
 */
import { InvalidArgumentError } from '../../core/src/index.js';
import { errorMessage } from './error-message.js';

/** Throws InvalidArgumentError naming the field when the settings bytes can never work. */
export type SettingsCheck = (settings: Uint8Array) => void;

/** Decodes settings bytes with a generated codec; undecodable bytes are an InvalidArgumentError naming the message. */
export function decodeSettings<T>(message: string, codec: { decode(bytes: Uint8Array): T }, bytes: Uint8Array): T {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw new InvalidArgumentError(`runner_settings are not a valid ${message}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Refuses an empty (or blank) required text field: `runner_settings.<field> must be set: <what>`. */
export function requireText(value: string | undefined, field: string, what: string): void {
  if (value === undefined || value.trim() === '') {
    throw new InvalidArgumentError(`runner_settings.${field} must be set: ${what}`);
  }
}

/** Refuses a port outside 1..65535 (0 allowed when `zeroMeansDefault`). */
export function requirePort(port: number, field: string, zeroMeansDefault: boolean): void {
  if ((port === 0 && zeroMeansDefault) || (port >= 1 && port <= 65535)) return;
  const range = zeroMeansDefault ? '1 to 65535 (or 0 for the default)' : '1 to 65535';
  throw new InvalidArgumentError(`runner_settings.${field} is ${port}; it must be ${range}`);
}

/** Runs a load-time check that throws RunnerError and turns its failure into an InvalidArgumentError. */
export function asSettingsCheck(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(errorMessage(error), { cause: error });
  }
}
