/**
 * Cron expressions of schedules, parsed by croner (never by our own parser). Three shapes are accepted:
 * - 5 fields: `min hour day month weekday` (fires at second 0);
 * - 6 fields: `sec min hour day month weekday`;
 * - 7 fields: `sec min hour day month weekday year` (the shape of poulpe's cron file).
 * Fields take ranges (`1-5`), lists (`1,15`), steps (`*\/2`), month and weekday names (`JAN`, `MON-FRI`), and
 * croner's `L` (last day or last weekday of the month), `W` (nearest weekday) and `#` (nth weekday, `MON#2`).
 * Weekdays count Sunday as 0 (or 7), as Unix crontab does. When both day and weekday are restricted, a day matching
 * either fires (Vixie cron's rule). Times are computed in the schedule's IANA time zone.
 */
import { Cron } from 'croner';
import { clip, quote } from './echo-value.js';
import { InvalidArgumentError } from './errors.js';

/** The time zone of a schedule that names none. */
export const DEFAULT_TIME_ZONE = 'UTC';
/** schedule.cron: VARCHAR(255) */
export const MAX_CRON_CHARS = 255;
/** schedule.time_zone: VARCHAR(64) */
export const MAX_TIME_ZONE_CHARS = 64;

/** The name prefix of the cron file's schedules (CRON_FILE); the Schedule RPCs refuse it for their own. */
export const CRON_FILE_NAME_PREFIX = 'cron-file:';

/** A parsed expression in its time zone: the tick times it names. */
export interface CronTicks {
  readonly expression: string;
  readonly timeZone: string;
  /** the first tick strictly after `time` (epoch ms), or undefined when the expression names no later time */
  nextAfter(time: number): number | undefined;
  /** the last tick at or before `time`, or undefined when there was none */
  latestAtOrBefore(time: number): number | undefined;
}

/**
 * Parses a cron expression for a time zone (DEFAULT_TIME_ZONE when empty). Throws InvalidArgumentError saying what
 * is wrong: the number of fields, a value out of range, an unknown time zone.
 */
export function parseCron(expression: string, timeZone = DEFAULT_TIME_ZONE): CronTicks {
  const zone = checkTimeZone(timeZone === '' ? DEFAULT_TIME_ZONE : timeZone);
  const text = expression.trim().replace(/\s+/g, ' ');
  if (text === '') throw new InvalidArgumentError('the cron expression is empty; give e.g. "*/10 * * * * *"');
  if (text.length > MAX_CRON_CHARS) {
    throw new InvalidArgumentError(`the cron expression must be at most ${MAX_CRON_CHARS} characters`);
  }
  let cron: Cron;
  try {
    // `paused`: croner only computes times here, it never runs anything
    cron = new Cron(text, { paused: true, timezone: zone });
  } catch (err) {
    throw new InvalidArgumentError(
      `cron expression ${quote(text)} is not valid: ${clip(cronMessage(err))}; use 5 fields (min hour day month ` +
        'weekday), 6 (with seconds first) or 7 (with a year last)',
      { cause: err },
    );
  }
  return {
    expression: text,
    timeZone: zone,
    nextAfter: (time) => cron.nextRun(new Date(time))?.getTime(),
    // croner's previousRuns looks strictly before its reference: ask from one millisecond later
    latestAtOrBefore: (time) => cron.previousRuns(1, new Date(time + 1))[0]?.getTime(),
  };
}

/** Checks an IANA time zone name (e.g. `Europe/Paris`, `UTC`); returns it. */
export function checkTimeZone(timeZone: string): string {
  if (timeZone.length > MAX_TIME_ZONE_CHARS) {
    throw new InvalidArgumentError(`time_zone must be at most ${MAX_TIME_ZONE_CHARS} characters`);
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new InvalidArgumentError(
      `time zone ${quote(timeZone)} is unknown; use an IANA name such as "UTC", "Europe/Paris" or "Asia/Tokyo"`,
    );
  }
  return timeZone;
}

function cronMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^CronPattern: /, '').replace(/\.$/, '');
}
