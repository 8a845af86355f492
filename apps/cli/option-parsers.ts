/**
 * Parsers for option values, for commander's `.option(flags, description, parser)`. A bad value throws commander's
 * InvalidArgumentError, which commander reports as one line naming the option (exit code 2).
 */
import { InvalidArgumentError } from 'commander';
import { Priority } from '../../libs/proto/src/index.js';

/** A whole number >= 0 (milliseconds, counts, offsets). */
export function parseWholeNumber(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

/** An id: a whole number >= 1. */
export function parseId(value: string): number {
  const n = parseWholeNumber(value);
  if (n < 1) throw new InvalidArgumentError('ids start at 1');
  return n;
}

/** A finite decimal number (the exponential retry basis). */
export function parseDecimal(value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** A point in time: epoch milliseconds, or an ISO 8601 time such as 2030-01-02T03:04:05Z. */
export function parseTime(value: string): number {
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isSafeInteger(ms)) {
    throw new InvalidArgumentError('expected epoch milliseconds or an ISO time such as 2030-01-02T03:04:05Z');
  }
  return ms;
}

/** A comma-separated list of worker ids or names (`3,4` or `resize,notify`). */
export function parseList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new InvalidArgumentError('expected a comma-separated list without empty items');
  return items;
}

/** Repeated `--next-workers` options add up: `--next-workers 3,4 --next-workers notify`. */
export function appendList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...parseList(value)];
}

/** The optional value of a switch such as `--store-success [bool]`: true or false (no value means true). */
export function parseBoolean(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InvalidArgumentError('expected true or false (or no value, meaning true)');
}

/**
 * A parser for a protobuf enum given by name, case-insensitive; `prefix` is the part of the names that may be left
 * out (`PRIORITY_` lets `high` mean PRIORITY_HIGH).
 */
export function enumParser(values: Record<string, string | number>, prefix = ''): (value: string) => number {
  const names = Object.keys(values).filter((k) => typeof values[k] === 'number');
  return (value) => {
    const wanted = value.trim().toUpperCase().replaceAll('-', '_');
    const name = names.find((n) => n === wanted || n === prefix + wanted);
    if (name === undefined) {
      throw new InvalidArgumentError(`use one of ${names.map((n) => n.slice(prefix.length)).join(', ')}`);
    }
    return values[name] as number;
  };
}

/** `-p`: high, middle or low as in jobworkerp-client; medium is middle. */
export function parsePriority(value: string): Priority {
  return enumParser(Priority, 'PRIORITY_')(value.trim().toLowerCase() === 'middle' ? 'medium' : value);
}
