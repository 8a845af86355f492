import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { CompiledQuery, Kysely, MysqlDialect, sql } from 'kysely';
import type { MysqlConfig } from '../../config/src/index.js';
import { InternalError, InvalidArgumentError, UnavailableError } from '../../core/src/index.js';
import type { DbErrorContext, DbErrorKind } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { KyselyStorage } from './kysely-storage.js';
import type { MigrationDialect } from './migrator.js';
import { MIGRATION_LOCK_TIMEOUT_MS } from './migrator.js';
import type { Storage } from './ports.js';
import type { Database } from './schema.js';

export interface MysqlStorageOptions extends MysqlConfig {
  /** Connections in the pool. @default 10 */
  readonly poolSize?: number | undefined;
  /** SECRETS_KEY as 64 hex digits: workers' runner settings are stored encrypted with it */
  readonly secretsKeyHex?: string | undefined;
  /** SECRETS_KEY_PREVIOUS as 64 hex digits each: settings sealed under them are still read */
  readonly previousSecretsKeysHex?: readonly string[] | undefined;
  /** told of every driver error an operation ends with, by kind (for the error counters) */
  readonly onError?: ((kind: DbErrorKind) => void) | undefined;
}

const MIGRATION_LOCK = 'jobworkerp_migrate';

/**
 * Opens a connection pool to MySQL/MariaDB, first creating the database when it does not exist. Throws
 * UnavailableError when the server cannot be reached. Call migrate() before use.
 */
export async function openMysqlStorage(options: MysqlStorageOptions): Promise<Storage> {
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(options.database)) {
    throw new InvalidArgumentError(`database name "${options.database}" must be 1 to 64 letters, digits, "_" or "$"`);
  }
  const errors: DbErrorContext = {
    hint:
      `check that MariaDB is running at ${options.host}:${options.port} ` +
      `and that user "${options.user}" may connect`,
    secrets: options.password === undefined ? [] : [options.password],
    onError: options.onError,
  };
  const maxAllowedPacket = await withDbErrors(errors, () => createDatabaseIfMissing(options));
  const pool = mysql.createPool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    connectionLimit: options.poolSize ?? 10,
    // BIGINT comes back as a number, or as a string when beyond 2^53 (row-mapping.ts rejects those)
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  const db = new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      // reject over-long values instead of truncating them, whatever the server's default sql_mode
      onCreateConnection: async (conn) => {
        await conn.executeQuery(CompiledQuery.raw("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"));
      },
    }),
  });
  return new KyselyStorage(db, {
    capabilities: { dialect: 'mysql', maxArgsBytes: mysqlMaxArgsBytes(maxAllowedPacket) },
    errors,
    migrations: mysqlMigrations,
    secrets: { secretsKeyHex: options.secretsKeyHex, previousSecretsKeysHex: options.previousSecretsKeysHex },
  });
}

/** MEDIUMBLOB, the type of job.args, job_result.args and worker.runner_settings, holds 2^24 − 1 bytes. */
const MEDIUMBLOB_BYTES = 2 ** 24 - 1;
/** Room in a packet for a row's other columns and the statement text. */
const PACKET_HEADROOM_BYTES = 64 * 1024;

/**
 * The largest args a row can take with this server's max_allowed_packet: kysely sends statements as text, where a
 * blob is hex-encoded (two characters a byte), and the result row carries the args next to the output.
 */
export function mysqlMaxArgsBytes(maxAllowedPacket: number): number {
  return Math.max(0, Math.min(MEDIUMBLOB_BYTES, Math.floor((maxAllowedPacket - PACKET_HEADROOM_BYTES) / 2)));
}

/** Creates the database when it is missing; returns the server's max_allowed_packet in bytes. */
async function createDatabaseIfMissing(options: MysqlStorageOptions): Promise<number> {
  const conn = await mysqlPromise.createConnection({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
  });
  try {
    // look first: a user without the CREATE privilege may still use an existing database
    const [rows] = await conn.query<mysqlPromise.RowDataPacket[]>(
      'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [options.database],
    );
    if (rows.length === 0) {
      await conn.query(
        `CREATE DATABASE IF NOT EXISTS \`${options.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    }
    const [packet] = await conn.query<mysqlPromise.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS bytes');
    return Number(packet[0]?.['bytes'] ?? 0) || 16 * 1024 * 1024;
  } finally {
    await conn.end();
  }
}

const mysqlMigrations: MigrationDialect = {
  folder: 'mysql',
  bookkeepingDdl:
    'CREATE TABLE IF NOT EXISTS jobworkerp_migrations ' +
    '(version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ' +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  // GET_LOCK belongs to the connection, so take and release it on the same one
  withLock: (db, apply) =>
    db.connection().execute(async (conn) => {
      const seconds = MIGRATION_LOCK_TIMEOUT_MS / 1000;
      const { rows } = await sql<{ locked: number | null }>`
        SELECT GET_LOCK(${MIGRATION_LOCK}, ${seconds}) AS locked`.execute(conn);
      const locked = rows[0]?.locked;
      if (locked === 0) {
        throw new UnavailableError(
          `timed out after ${seconds} s waiting for another process to finish migrating (lock ${MIGRATION_LOCK})`,
        );
      }
      if (locked !== 1) throw new InternalError(`GET_LOCK('${MIGRATION_LOCK}') failed`);
      try {
        await apply(conn);
      } finally {
        await sql`SELECT RELEASE_LOCK(${MIGRATION_LOCK})`.execute(conn);
      }
    }),
};
