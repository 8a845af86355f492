/**
 * Turns driver errors (better-sqlite3, mysql2, network) into the domain's typed errors, in one place:
 * duplicate key → AlreadyExistsError, value too long or too large (a column's length, MySQL's max_allowed_packet,
 * SQLite's blob limit) or out of a column's range → InvalidArgumentError, connection trouble → UnavailableError,
 * anything else → InternalError with the driver error as cause. A value the database refuses is never reported as
 * "unavailable": retrying cannot help it, and callers (the result processor) treat outages differently. Messages
 * never contain the configured secrets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AlreadyExistsError,
  InternalError,
  InvalidArgumentError,
  JobworkerpError,
  UnavailableError,
} from '../../core/src/index.js';

export interface DbErrorContext {
  /** Closing advice of UnavailableError messages, e.g. `check that MariaDB is running at 127.0.0.1:3306`. */
  readonly hint: string;
  /** Strings redacted from every message (the password). */
  readonly secrets: readonly string[];
  /**
   * Told of every driver error an operation ends with, by kind (after the lock-conflict retries), for the process's
   * error counters. Must not throw.
   */
  readonly onError?: ((kind: DbErrorKind) => void) | undefined;
}

/** Says what a clash on a unique column means, e.g. `a worker named "x" already exists; pick another name`. */
export type DescribeClash = (column: string) => string;

/** What a driver error was, as the error counters label it (a bounded set). */
export type DbErrorKind = DbFailure['kind'];

type DbFailure =
  | { readonly kind: 'duplicate'; readonly column: string }
  /** the database rolled the statement (or its transaction) back to break a lock conflict: running it again is safe */
  | { readonly kind: 'conflict'; readonly reason: string }
  | { readonly kind: 'too-long'; readonly column: string }
  /** the statement as a whole is larger than the database takes (MySQL max_allowed_packet, SQLite's length limit) */
  | { readonly kind: 'too-large'; readonly reason: string }
  /** a value the column cannot hold (a number out of its range, a NULL in a NOT NULL column) */
  | { readonly kind: 'bad-value'; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'other'; readonly reason: string };

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_FULL',
  // the SQLite file or its folder cannot be created or written
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'ENOTDIR',
]);
const UNAVAILABLE_CODE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR'];
/** Errors of a closed pool, connection or kysely instance. */
const CLOSED_MESSAGES = [
  'Pool is closed',
  "Can't add new command when connection is in closed state",
  'The database connection is not open',
  'driver has already been destroyed',
];

/** How often an operation that lost a lock conflict (deadlock, lock wait timeout) runs before it gives up. */
const CONFLICT_ATTEMPTS = 4;

/**
 * Runs one database operation and maps whatever it throws. An operation the database rolled back to break a lock
 * conflict (MySQL deadlock or lock wait timeout) runs again after a short random pause, a few times: `op` must be a
 * whole unit — one statement or one transaction — never a statement inside someone else's transaction.
 */
export async function withDbErrors<T>(
  ctx: DbErrorContext,
  op: () => Promise<T>,
  describeClash?: DescribeClash,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt < CONFLICT_ATTEMPTS && classify(err).kind === 'conflict') {
        await sleep(10 + Math.random() * 40 * attempt);
        continue;
      }
      if (!(err instanceof JobworkerpError)) ctx.onError?.(classify(err).kind);
      throw toStorageError(err, ctx, describeClash);
    }
  }
}

/** The unique column a driver error reports a clash on, if it is a duplicate-key error. */
export function duplicateColumn(err: unknown): string | undefined {
  const failure = classify(err);
  return failure.kind === 'duplicate' ? failure.column : undefined;
}

export function toStorageError(err: unknown, ctx: DbErrorContext, describeClash?: DescribeClash): Error {
  if (err instanceof JobworkerpError) return err;
  const failure = classify(err);
  const redact = (text: string): string =>
    ctx.secrets.reduce((t, secret) => (secret === '' ? t : t.split(secret).join('***')), text);
  switch (failure.kind) {
    case 'duplicate':
      return new AlreadyExistsError(
        describeClash?.(failure.column) ?? `a row with the same ${failure.column} already exists`,
        { cause: err },
      );
    case 'too-long':
      return new InvalidArgumentError(`${failure.column} is too long for the database; shorten it`, { cause: err });
    case 'too-large':
      return new InvalidArgumentError(
        `the value is too large for the database: ${failure.reason}; send smaller args (or raise MariaDB's ` +
          'max_allowed_packet)',
        { cause: err },
      );
    case 'bad-value':
      return new InvalidArgumentError(`the database refused a value: ${redact(failure.reason)}`, { cause: err });
    case 'conflict':
      return new UnavailableError(`database busy: ${failure.reason}; try again`, { cause: err });
    case 'unavailable':
      return new UnavailableError(`database unavailable: ${redact(failure.reason)}; ${ctx.hint}`, { cause: err });
    case 'other':
      return new InternalError(`database error: ${redact(failure.reason)}`, { cause: err });
  }
}

function classify(err: unknown): DbFailure {
  const { code, errno, message, fatal } = fieldsOf(err);
  const reason = shorten(message === '' ? (code ?? 'unknown error') : message);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: job.uniq_key"
    return { kind: 'duplicate', column: /constraint failed: (?:\w+\.)?(\w+)/.exec(message)?.[1] ?? 'key' };
  }
  if (code === 'ER_DUP_ENTRY' || errno === 1062) {
    // "Duplicate entry 'k' for key 'uniq_key'" (MariaDB) or "... for key 'job.uniq_key'" (MySQL 8)
    const key = /for key '(?:[^']*\.)?([^'.]+)'$/.exec(message)?.[1] ?? 'key';
    return { kind: 'duplicate', column: key === 'PRIMARY' ? 'id' : key };
  }
  if (code === 'ER_LOCK_DEADLOCK' || errno === 1213 || code === 'ER_LOCK_WAIT_TIMEOUT' || errno === 1205) {
    return { kind: 'conflict', reason };
  }
  if (code === 'SQLITE_CONSTRAINT_CHECK') {
    // "CHECK constraint failed: uniq_key_max_length"
    const column = /CHECK constraint failed: (\w+)_max_length/.exec(message)?.[1];
    if (column !== undefined) return { kind: 'too-long', column };
  }
  if (code === 'ER_DATA_TOO_LONG' || errno === 1406) {
    return { kind: 'too-long', column: /for column '([^']+)'/.exec(message)?.[1] ?? 'a value' };
  }
  // before the connection checks: MySQL drops the connection after a packet that is too large
  if (
    code === 'ER_NET_PACKET_TOO_LARGE' ||
    errno === 1153 ||
    code === 'SQLITE_TOOBIG' ||
    /max_allowed_packet|string or blob too big/i.test(message)
  ) {
    return { kind: 'too-large', reason };
  }
  if (code === 'ER_WARN_DATA_OUT_OF_RANGE' || errno === 1264 || code === 'ER_BAD_NULL_ERROR' || errno === 1048) {
    return { kind: 'bad-value', reason };
  }
  if (
    fatal === true ||
    (code !== undefined &&
      (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CODE_PREFIXES.some((prefix) => code.startsWith(prefix)))) ||
    CLOSED_MESSAGES.some((m) => message.includes(m))
  ) {
    return { kind: 'unavailable', reason };
  }
  return { kind: 'other', reason };
}

function fieldsOf(err: unknown): { code?: string; errno?: number; message: string; fatal?: boolean } {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown>;
  return {
    ...(typeof e['code'] === 'string' ? { code: e['code'] } : {}),
    ...(typeof e['errno'] === 'number' ? { errno: e['errno'] } : {}),
    ...(typeof e['fatal'] === 'boolean' ? { fatal: e['fatal'] } : {}),
    message: typeof e['message'] === 'string' ? e['message'] : '',
  };
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 197)}...` : oneLine;
}
