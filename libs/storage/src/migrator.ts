/**
 * The migration runner. Migrations are the files migrations/<dialect>/NNN_name.sql of the repository, applied in
 * version order, each recorded in jobworkerp_migrations. Within a file, statements end with a semicolon at the end
 * of a line and lines starting with "--" are comments.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { InternalError } from '../../core/src/index.js';
import type { Database } from './schema.js';

/** How long migrate() waits for another process that is migrating the same database. */
export const MIGRATION_LOCK_TIMEOUT_MS = 60_000;

/** What differs between backends when migrating; supplied by each adapter. */
export interface MigrationDialect {
  /** the folder under migrations/ */
  readonly folder: 'sqlite' | 'mysql';
  /** idempotent DDL of the jobworkerp_migrations table */
  readonly bookkeepingDdl: string;
  /**
   * Runs `apply` on one connection while no other migrator of the database can run (SQLite: inside a
   * BEGIN IMMEDIATE transaction, so a failure rolls everything back; MySQL: under GET_LOCK, where DDL commits
   * implicitly and the files are written to be re-runnable).
   */
  withLock(db: Kysely<Database>, apply: (conn: Kysely<Database>) => Promise<void>): Promise<void>;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** Applies the pending migrations of the dialect's folder under the dialect's lock. */
export async function migrate(db: Kysely<Database>, dialect: MigrationDialect): Promise<void> {
  const migrations = await loadMigrations(dialect.folder);
  await dialect.withLock(db, async (conn) => {
    await sql.raw(dialect.bookkeepingDdl).execute(conn);
    const applied = new Set(
      (await conn.selectFrom('jobworkerp_migrations').select('version').execute()).map((r) => r.version),
    );
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      for (const statement of m.statements) await sql.raw(statement).execute(conn);
      await conn
        .insertInto('jobworkerp_migrations')
        .values({ version: m.version, name: m.name, applied_at: Date.now() })
        .execute();
    }
  });
}

/** Reads migrations/<folder>/NNN_name.sql in version order. */
export async function loadMigrations(folder: MigrationDialect['folder']): Promise<Migration[]> {
  const dir = join(findMigrationsRoot(folder), folder);
  const migrations: Migration[] = [];
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.sql')) continue;
    const match = /^(\d+)_(\w+)\.sql$/.exec(file);
    if (match === null) throw new InternalError(`migration file ${join(dir, file)} is not named NNN_name.sql`);
    const [, version = '', name = ''] = match;
    migrations.push({
      version: Number(version),
      name,
      statements: splitStatements(await readFile(join(dir, file), 'utf8')),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && migrations[i - 1]?.version === m.version) {
      throw new InternalError(`two migrations in ${dir} have version ${m.version}`);
    }
  });
  return migrations;
}

function splitStatements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;[ \t]*$/m)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The repository's migrations/ folder, found by walking up from this module: it runs from libs/storage/src (tests)
 * and from dist/libs/storage/src (build).
 */
function findMigrationsRoot(folder: string): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'migrations', folder))) return join(dir, 'migrations');
    if (dirname(dir) === dir) throw new InternalError(`no migrations/${folder} folder found above ${start}`);
  }
}
