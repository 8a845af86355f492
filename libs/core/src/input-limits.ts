/**
 * The bounds of client values that the databases store in fixed-size columns. The API refuses longer values with
 * INVALID_ARGUMENT before anything is stored, so no job is accepted that could not be finished later. Lengths count
 * characters (Unicode code points), as MySQL's VARCHAR and SQLite's length() do.
 */
import { InvalidArgumentError } from './errors.js';

/** worker.name, job_result.worker_name: VARCHAR(128) */
export const MAX_WORKER_NAME_CHARS = 128;
/** worker.channel: VARCHAR(128) */
export const MAX_CHANNEL_CHARS = 128;
/** job.uniq_key, job_result.uniq_key: VARCHAR(255) */
export const MAX_UNIQ_KEY_CHARS = 255;

/** The number of characters (code points) of a string, counted only as far as needed to compare with `max`. */
function exceeds(value: string, max: number): boolean {
  if (value.length <= max) return false;
  // a string of more than 2 × max code units has more than max code points
  if (value.length > 2 * max) return true;
  let n = 0;
  for (const _ of value) if (++n > max) return true;
  return false;
}

/** Throws InvalidArgumentError `<field> must be at most <max> characters, got <n>` when `value` is longer. */
export function checkMaxChars(value: string, max: number, field: string): void {
  if (exceeds(value, max)) {
    throw new InvalidArgumentError(`${field} must be at most ${max} characters, got ${[...value].length}`);
  }
}

/** Throws InvalidArgumentError naming the limit when `bytes` is longer than `maxBytes`. */
export function checkMaxBytes(bytes: Uint8Array, maxBytes: number, field: string, why: string): void {
  if (bytes.length > maxBytes) {
    throw new InvalidArgumentError(`${field} must be at most ${maxBytes} bytes (${why}), got ${bytes.length}`);
  }
}
