import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { UnavailableError } from '../../core/src/index.js';
import type { DbErrorContext, DbErrorKind } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { KyselyStorage } from './kysely-storage.js';
import type { MigrationDialect } from './migrator.js';
import { MIGRATION_LOCK_TIMEOUT_MS } from './migrator.js';
import type { Storage } from './ports.js';
import type { Database } from './schema.js';
import { embeddedSqliteAddon } from './sqlite-addon.js';

export interface SqliteStorageOptions {
  /** The database file (or ':memory:'); its folder is created when missing. */
  readonly path: string;
  /**
   * How long a statement waits for another process's write lock before failing with UnavailableError.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
  /** SECRETS_KEY as 64 hex digits: workers' runner settings are stored encrypted with it */
  readonly secretsKeyHex?: string | undefined;
  /** SECRETS_KEY_PREVIOUS as 64 hex digits each: settings sealed under them are still read */
  readonly previousSecretsKeysHex?: readonly string[] | undefined;
  /** told of every driver error an operation ends with, by kind (for the error counters) */
  readonly onError?: ((kind: DbErrorKind) => void) | undefined;
}

/** SQLite's default limit on one string or blob (SQLITE_MAX_LENGTH), which better-sqlite3 keeps. */
export const SQLITE_MAX_BLOB_BYTES = 1_000_000_000;

/** Opens (creating if needed) a SQLite database file in WAL mode. Call migrate() before use. */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const errors: DbErrorContext = {
    hint: `check that ${options.path} is on a writable disk and not locked by another process`,
    secrets: [],
    onError: options.onError,
  };
  const database = await withDbErrors(errors, async () => {
    if (options.path !== ':memory:') await mkdir(dirname(resolve(options.path)), { recursive: true });
    // the option's type names only a path; better-sqlite3 also takes the loaded addon object
    const nativeBinding = embeddedSqliteAddon() as string | undefined;
    const db = new BetterSqlite3(options.path, { timeout: busyTimeoutMs, nativeBinding });
    db.pragma('journal_mode = WAL');
    return db;
  });
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return new KyselyStorage(db, {
    capabilities: { dialect: 'sqlite', maxArgsBytes: SQLITE_MAX_BLOB_BYTES },
    errors,
    migrations: sqliteMigrations(busyTimeoutMs),
    secrets: { secretsKeyHex: options.secretsKeyHex, previousSecretsKeysHex: options.previousSecretsKeysHex },
  });
}

function sqliteMigrations(busyTimeoutMs: number): MigrationDialect {
  return {
    folder: 'sqlite',
    bookkeepingDdl:
      'CREATE TABLE IF NOT EXISTS jobworkerp_migrations ' +
      '(version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
    withLock: (db, apply) =>
      db.connection().execute(async (conn) => {
        await beginImmediate(conn, busyTimeoutMs);
        try {
          await apply(conn);
          await sql`commit`.execute(conn);
        } catch (err) {
          // SQLite may have rolled back already (e.g. on SQLITE_FULL): keep the original error either way
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw err;
        }
      }),
  };
}

/**
 * BEGIN IMMEDIATE takes SQLite's write lock, which serialises migrators across processes. better-sqlite3 waits for
 * a busy lock synchronously, blocking the event loop, which would stall a second connection of this very process
 * that holds the lock; so wait here with an async retry loop and busy_timeout 0 instead.
 */
async function beginImmediate(conn: Kysely<Database>, busyTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + MIGRATION_LOCK_TIMEOUT_MS;
  await sql.raw('pragma busy_timeout = 0').execute(conn);
  try {
    for (;;) {
      try {
        await sql`begin immediate`.execute(conn);
        return;
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (Date.now() > deadline) {
          throw new UnavailableError(
            `timed out after ${MIGRATION_LOCK_TIMEOUT_MS} ms waiting for another process to finish migrating`,
            { cause: err },
          );
        }
        await sleep(20);
      }
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${Math.trunc(busyTimeoutMs)}`).execute(conn);
  }
}

function isBusy(err: unknown): boolean {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('SQLITE_BUSY');
}
