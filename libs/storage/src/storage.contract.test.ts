/**
 * The storage contract: one suite, run against SQLite (a temp file) and the real MariaDB at 127.0.0.1:3306 (a
 * fresh database per run, dropped at the end). MariaDB being down fails the suite; it is never skipped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import mysqlPromise from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter, Job, JobResult, Runner, Schedule, ScheduleSpec, WorkerSpec } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RetryType,
  RunnerType,
  UnavailableError,
} from '../../core/src/index.js';
import { loadMigrations } from './migrator.js';
import { openMysqlStorage } from './mysql-storage.js';
import { openStorage } from './open-storage.js';
import type { Storage } from './ports.js';
import type { Database } from './schema.js';

const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: undefined } as const;

/** Every column of every table, typed against the kysely schema so the two cannot drift apart. */
const EXPECTED_COLUMNS: { [T in keyof Database]: { [C in keyof Database[T]]-?: 'null' | 'not null' } } = {
  runner: {
    id: 'not null',
    name: 'not null',
    type: 'not null',
    settings_proto: 'not null',
    args_proto: 'not null',
    result_proto: 'null',
  },
  worker: {
    id: 'not null',
    name: 'not null',
    runner_id: 'not null',
    runner_settings: 'not null',
    retry_type: 'not null',
    retry_interval: 'not null',
    retry_max_interval: 'not null',
    retry_max_retry: 'not null',
    retry_basis: 'not null',
    periodic_interval: 'not null',
    channel: 'null',
    queue_type: 'not null',
    response_type: 'not null',
    store_success: 'not null',
    store_failure: 'not null',
    next_workers: 'not null',
    use_static: 'not null',
    created_at: 'not null',
    updated_at: 'not null',
  },
  job: {
    id: 'not null',
    worker_id: 'not null',
    args: 'not null',
    uniq_key: 'null',
    enqueue_time: 'not null',
    grabbed_until_time: 'not null',
    run_after_time: 'not null',
    retried: 'not null',
    priority: 'not null',
    timeout: 'not null',
    traceparent: 'null',
    tracestate: 'null',
  },
  job_result: {
    id: 'not null',
    job_id: 'not null',
    worker_id: 'not null',
    worker_name: 'not null',
    args: 'not null',
    uniq_key: 'null',
    status: 'not null',
    output: 'not null',
    retried: 'not null',
    max_retry: 'not null',
    priority: 'not null',
    timeout: 'not null',
    enqueue_time: 'not null',
    run_after_time: 'not null',
    start_time: 'not null',
    end_time: 'not null',
    response_type: 'not null',
    store_success: 'not null',
    store_failure: 'not null',
  },
  schedule: {
    id: 'not null',
    name: 'not null',
    cron: 'not null',
    time_zone: 'not null',
    worker_id: 'null',
    worker_name: 'null',
    args: 'not null',
    priority: 'not null',
    uniq_key: 'null',
    timeout: 'not null',
    missed_tick: 'not null',
    overlap: 'not null',
    origin: 'not null',
    next_tick_time: 'not null',
    last_tick_time: 'not null',
    last_job_id: 'null',
    created_at: 'not null',
    updated_at: 'not null',
    firing_job_id: 'null',
    firing_tick_time: 'not null',
    firing_until: 'not null',
  },
  dead_letter: {
    id: 'not null',
    job_id: 'not null',
    worker_id: 'not null',
    worker_name: 'not null',
    args: 'not null',
    uniq_key: 'null',
    priority: 'not null',
    timeout: 'not null',
    enqueue_time: 'not null',
    run_after_time: 'not null',
    retried: 'not null',
    max_retry: 'not null',
    status: 'not null',
    output: 'not null',
    start_time: 'not null',
    end_time: 'not null',
    died_at: 'not null',
    requeued_job_id: 'not null',
    requeued_at: 'not null',
  },
  dead_letter_policy: {
    worker_id: 'not null',
    enabled: 'not null',
    extra_statuses: 'not null',
    updated_at: 'not null',
  },
  switch: { name: 'not null', is_on: 'not null', updated_at: 'not null' },
  jobworkerp_migrations: { version: 'not null', name: 'not null', applied_at: 'not null' },
};

/** Secondary indexes (the primary keys aside), as "unique(cols)" or "index(cols)" per table. */
const EXPECTED_INDEXES: Record<keyof Database, string[]> = {
  runner: ['unique(name)'],
  worker: ['unique(name)'],
  job: ['index(run_after_time,grabbed_until_time,priority)', 'index(worker_id,run_after_time)', 'unique(uniq_key)'],
  job_result: [
    'index(end_time)',
    'index(job_id,end_time)',
    'index(uniq_key,end_time)',
    'index(worker_id,end_time)',
    'unique(job_id,retried,run_after_time)',
  ],
  schedule: ['index(firing_until)', 'index(next_tick_time)', 'unique(name)'],
  dead_letter: ['index(died_at)', 'index(worker_id,died_at)', 'unique(job_id,retried,run_after_time)'],
  dead_letter_policy: [],
  switch: [],
  jobworkerp_migrations: [],
};

type Schema = Record<string, { columns: Record<string, 'null' | 'not null'>; indexes: string[] }>;

/** A database created for this run, looked at with the raw driver (not through the code under test). */
interface TestDatabase {
  open(): Promise<Storage>;
  schema(): Promise<Schema>;
  appliedMigrations(): Promise<{ version: number; name: string; applied_at: number }[]>;
  /** Takes the migration lock the way another process would; resolves to its (idempotent) release. */
  holdMigrationLock(): Promise<() => Promise<void>>;
  drop(): Promise<void>;
}

interface Adapter {
  readonly name: string;
  createDatabase(): Promise<TestDatabase>;
}

const sqliteAdapter: Adapter = {
  name: 'sqlite',
  async createDatabase() {
    const dir = mkdtempSync(join(tmpdir(), 'jw-storage-'));
    // a folder that does not exist yet: openSqliteStorage creates it
    const path = join(dir, 'data', 'jobworkerp.sqlite3');
    const withRaw = <T>(fn: (db: BetterSqlite3.Database) => T): T => {
      const db = new BetterSqlite3(path, { readonly: true });
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };
    return {
      open: () => openStorage({ kind: 'sqlite', path }),
      schema: async () =>
        withRaw((db) => {
          const schema: Schema = {};
          const tables = db
            .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
            .all()
            .filter((t) => !t.name.startsWith('sqlite_'));
          for (const { name } of tables) {
            const columns = db
              .prepare<[], { name: string; notnull: number }>(`PRAGMA table_info(${name})`)
              .all()
              .map((c): [string, 'null' | 'not null'] => [c.name, c.notnull === 1 ? 'not null' : 'null']);
            const indexes = db
              .prepare<[], { name: string; unique: number; origin: string }>(`PRAGMA index_list(${name})`)
              .all()
              .filter((i) => i.origin !== 'pk')
              .map((i) => {
                const cols = db
                  .prepare<[], { name: string }>(`PRAGMA index_info(${i.name})`)
                  .all()
                  .map((c) => c.name);
                return `${i.unique === 1 ? 'unique' : 'index'}(${cols.join(',')})`;
              });
            schema[name] = { columns: Object.fromEntries(columns), indexes: indexes.sort() };
          }
          return schema;
        }),
      appliedMigrations: async () =>
        withRaw((db) =>
          db
            .prepare<[], { version: number; name: string; applied_at: number }>(
              'SELECT version, name, applied_at FROM jobworkerp_migrations ORDER BY version',
            )
            .all(),
        ),
      holdMigrationLock: async () => {
        const db = new BetterSqlite3(path);
        db.exec('BEGIN IMMEDIATE');
        return async () => {
          if (db.open) db.exec('COMMIT');
          db.close();
        };
      },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const mysqlAdapter: Adapter = {
  name: 'mysql',
  async createDatabase() {
    const database = `jw_test_${randomBytes(6).toString('hex')}`;
    const withRaw = async <T>(fn: (conn: mysqlPromise.Connection) => Promise<T>): Promise<T> => {
      let conn: mysqlPromise.Connection;
      try {
        conn = await mysqlPromise.createConnection({ ...MARIADB, supportBigNumbers: true });
      } catch (err) {
        throw new Error(
          `this suite needs MariaDB at ${MARIADB.host}:${MARIADB.port} (user root, empty password); start it with ` +
            '`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`',
          { cause: err },
        );
      }
      try {
        return await fn(conn);
      } finally {
        await conn.end();
      }
    };
    // the database is created by openMysqlStorage; this only proves the server is there
    await withRaw(async (conn) => conn.ping());
    return {
      open: () => openStorage({ kind: 'mysql', ...MARIADB, database, poolSize: 4 }),
      schema: () =>
        withRaw(async (conn) => {
          const [columns] = await conn.query<mysqlPromise.RowDataPacket[]>(
            'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, IS_NULLABLE AS n FROM information_schema.COLUMNS ' +
              'WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
            [database],
          );
          const [indexes] = await conn.query<mysqlPromise.RowDataPacket[]>(
            'SELECT TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS nu, ' +
              "GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS cols " +
              "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME <> 'PRIMARY' " +
              'GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE',
            [database],
          );
          const schema: Schema = {};
          for (const row of columns) {
            const table = (schema[row.t as string] ??= { columns: {}, indexes: [] });
            table.columns[row.c as string] = row.n === 'YES' ? 'null' : 'not null';
          }
          for (const row of indexes) {
            schema[row.t as string]?.indexes.push(`${Number(row.nu) === 0 ? 'unique' : 'index'}(${String(row.cols)})`);
          }
          for (const table of Object.values(schema)) table.indexes.sort();
          return schema;
        }),
      appliedMigrations: () =>
        withRaw(async (conn) => {
          const [rows] = await conn.query<mysqlPromise.RowDataPacket[]>(
            `SELECT version, name, applied_at FROM \`${database}\`.jobworkerp_migrations ORDER BY version`,
          );
          return rows.map((r) => ({
            version: r.version as number,
            name: r.name as string,
            applied_at: Number(r.applied_at),
          }));
        }),
      holdMigrationLock: async () => {
        const conn = await mysqlPromise.createConnection(MARIADB);
        await conn.query("SELECT GET_LOCK('jobworkerp_migrate', 10)");
        let released: Promise<void> | undefined;
        return () => (released ??= conn.end());
      },
      drop: () => withRaw(async (conn) => void (await conn.query(`DROP DATABASE IF EXISTS \`${database}\``))),
    };
  },
};

const expectedSchema: Schema = Object.fromEntries(
  Object.entries(EXPECTED_COLUMNS).map(([table, columns]) => [
    table,
    { columns, indexes: [...EXPECTED_INDEXES[table as keyof Database]].sort() },
  ]),
);

// ---- test data ----

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
/** Compares bytes by content, whatever the Uint8Array subclass (drivers return Buffers). */
const plain = (b: Uint8Array): number[] => Array.from(b);

const runner = (id: number, name: string, over: Partial<Runner> = {}): Runner => ({
  id,
  name,
  type: RunnerType.PLUGIN,
  settingsProto: 'message Settings { string path = 1; }',
  argsProto: 'message Args { repeated string args = 1; }',
  resultProto: undefined,
  ...over,
});

const workerSpec = (name: string, over: Partial<WorkerSpec> = {}): WorkerSpec => ({
  name,
  runnerId: 1,
  runnerSettings: bytes(0, 1, 2, 255, 0),
  retryPolicy: { type: RetryType.EXPONENTIAL, interval: 800, maxInterval: 60_000, maxRetry: 3, basis: 1.5 },
  periodicInterval: 0,
  channel: undefined,
  queueType: QueueType.WITH_BACKUP,
  responseType: ResponseType.NO_RESULT,
  storeSuccess: true,
  storeFailure: false,
  nextWorkers: [],
  useStatic: false,
  ...over,
});

const job = (id: number, over: Partial<Job> = {}): Job => ({
  id,
  workerId: 10,
  args: bytes(10, 0, 20),
  uniqKey: undefined,
  enqueueTime: 1_700_000_000_000,
  grabbedUntilTime: undefined,
  runAfterTime: 0,
  retried: 0,
  priority: Priority.PRIORITY_MEDIUM,
  timeout: 200,
  ...over,
});

const result = (id: number, over: Partial<JobResult> = {}): JobResult => ({
  id,
  jobId: 500,
  workerId: 10,
  workerName: 'w',
  args: bytes(1, 2, 3),
  uniqKey: undefined,
  status: ResultStatus.SUCCESS,
  output: [bytes(104, 105)],
  // one result per attempt (job_id, retried, run_after_time): distinct ids stand for distinct attempts here
  retried: id,
  maxRetry: 2,
  priority: Priority.PRIORITY_HIGH,
  timeout: 1000,
  enqueueTime: 1_700_000_000_000,
  runAfterTime: 0,
  startTime: 1_700_000_000_100,
  endTime: 1_700_000_000_200,
  responseType: ResponseType.DIRECT,
  storeSuccess: true,
  storeFailure: true,
  ...over,
});

const scheduleSpec = (name: string, over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  name,
  cron: '*/2 * * * * *',
  timeZone: 'UTC',
  workerId: 10,
  workerName: undefined,
  args: bytes(8, 1, 0, 255),
  priority: Priority.PRIORITY_MEDIUM,
  uniqKey: undefined,
  timeout: 0,
  missedTick: 'skip',
  overlap: 'allow',
  origin: 'api',
  ...over,
});

const deadLetter = (id: number, over: Partial<DeadLetter> = {}): DeadLetter => ({
  id,
  jobId: 700 + id,
  workerId: 10,
  workerName: 'w',
  args: bytes(7, 0, 7),
  uniqKey: undefined,
  priority: Priority.PRIORITY_LOW,
  timeout: 1500,
  enqueueTime: 1_700_000_000_000,
  runAfterTime: 0,
  retried: 3,
  maxRetry: 3,
  status: ResultStatus.MAX_RETRY,
  output: [bytes(101, 0, 114)],
  startTime: 1_700_000_000_100,
  endTime: 1_700_000_000_200,
  diedAt: 1_700_000_000_000 + id * 1000,
  requeuedJobId: undefined,
  requeuedAt: undefined,
  ...over,
});

/** What the promise rejects with (undefined if it resolves). */
const rejectionOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

/** Empties every table through the port itself. */
async function clear(storage: Storage): Promise<void> {
  for (const r of await storage.runners.list()) await storage.runners.delete(r.id);
  for (const w of await storage.workers.list()) await storage.workers.delete(w.id);
  for (const j of await storage.jobs.list()) await storage.jobs.delete(j.id);
  for (const r of await storage.results.list()) await storage.results.delete(r.id);
  for (const s of await storage.schedules.list()) await storage.schedules.delete(s.id);
  await storage.deadLetters.deleteMatching({});
  for (const p of await storage.deadLetters.listPolicies()) await storage.deadLetters.deletePolicy(p.workerId);
}

it('has the same migration versions for both dialects', async () => {
  const versions = async (folder: 'sqlite' | 'mysql'): Promise<string[]> =>
    (await loadMigrations(folder)).map((m) => `${m.version}_${m.name}`);
  expect(await versions('sqlite')).toEqual(await versions('mysql'));
  expect(await versions('sqlite')).toContain('1_init');
});

describe.each([sqliteAdapter, mysqlAdapter])('$name storage', (adapter) => {
  let database: TestDatabase;
  let storage: Storage;

  beforeAll(async () => {
    database = await adapter.createDatabase();
    storage = await database.open();
    await storage.migrate();
  });

  afterAll(async () => {
    await storage?.close();
    await database?.drop();
  });

  beforeEach(async () => clear(storage));

  describe('migrations', () => {
    it('creates the expected tables, columns and indexes on a fresh database', async () => {
      expect(await database.schema()).toEqual(expectedSchema);
      const versions = (await loadMigrations(adapter.name === 'sqlite' ? 'sqlite' : 'mysql')).map((m) => m.version);
      expect((await database.appliedMigrations()).map((m) => m.version)).toEqual(versions);
    });

    it('does nothing when migrated again', async () => {
      await storage.runners.upsertWithIds([runner(1, 'kept')]);
      const before = await database.appliedMigrations();
      await storage.migrate();
      expect(await database.appliedMigrations()).toEqual(before);
      expect(await storage.runners.findByName('kept')).toBeDefined();
    });

    it('waits, without blocking the event loop, while another process holds the migration lock', async () => {
      const fresh = await adapter.createDatabase();
      const other = await fresh.open();
      const release = await fresh.holdMigrationLock();
      try {
        let outcome: unknown = 'pending';
        const migrating = other.migrate().then(
          () => (outcome = 'done'),
          (err: unknown) => (outcome = err),
        );
        const started = performance.now();
        await sleep(300);
        // a blocked event loop would hold this 300 ms sleep for the whole 5 s busy timeout
        expect(performance.now() - started).toBeLessThan(2500);
        expect(outcome).toBe('pending');
        await release();
        await migrating;
        expect(outcome).toBe('done');
        expect(await fresh.schema()).toEqual(expectedSchema);
      } finally {
        await release();
        await other.close();
        await fresh.drop();
      }
    });

    it('is safe when two processes migrate the same fresh database at once', async () => {
      const fresh = await adapter.createDatabase();
      const [a, b] = [await fresh.open(), await fresh.open()];
      try {
        await Promise.all([a.migrate(), b.migrate()]);
        expect(await fresh.schema()).toEqual(expectedSchema);
        const applied = await fresh.appliedMigrations();
        expect(applied.map((m) => m.version)).toEqual([...new Set(applied.map((m) => m.version))]);
        expect(applied.length).toBeGreaterThan(0);
        await a.runners.upsertWithIds([runner(1, 'from-a')]);
        expect(await b.runners.find(1)).toMatchObject({ name: 'from-a' });
      } finally {
        await a.close();
        await b.close();
        await fresh.drop();
      }
    });
  });

  it('reports its capabilities and answers ping', async () => {
    expect(storage.capabilities).toEqual(
      adapter.name === 'sqlite'
        ? { dialect: 'sqlite', maxArgsBytes: 1_000_000_000 }
        : { dialect: 'mysql', maxArgsBytes: expect.any(Number) },
    );
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  describe('runners', () => {
    it('inserts and replaces runners with fixed ids', async () => {
      await storage.runners.upsertWithIds([runner(1, 'COMMAND'), runner(2, 'HTTP_REQUEST')]);
      const replaced = runner(1, 'COMMAND', { type: RunnerType.COMMAND, resultProto: 'message R { bytes b = 1; }' });
      await storage.runners.upsertWithIds([replaced]);
      expect(await storage.runners.find(1)).toEqual(replaced);
      expect(await storage.runners.findByName('HTTP_REQUEST')).toEqual(runner(2, 'HTTP_REQUEST'));
      expect(await storage.runners.count()).toBe(2);
    });

    it('refuses a fixed-id runner whose name another runner has, and keeps the batch out', async () => {
      await storage.runners.upsertWithIds([runner(1, 'COMMAND')]);
      const err = await rejectionOf(storage.runners.upsertWithIds([runner(50, 'fresh'), runner(2, 'COMMAND')]));
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect((err as Error).message).toContain('"COMMAND"');
      expect(await storage.runners.find(50)).toBeUndefined();
      expect(await storage.runners.find(1)).toEqual(runner(1, 'COMMAND'));
    });

    it('upserts by name: a new name gets a new id, a known one keeps its id and takes the new schemas', async () => {
      let ids = 0;
      const newId = (): number => 1000 + ++ids;
      const { id: _unused, ...first } = runner(0, 'hello');
      const created = await storage.runners.upsertByName(first, newId);
      expect(created).toEqual({ ...first, id: 1001 });
      const spec = { name: 'hello', type: RunnerType.PLUGIN, settingsProto: 's2', argsProto: 'a2', resultProto: 'r2' };
      const updated = await storage.runners.upsertByName(spec, newId);
      expect(updated).toEqual({ ...spec, id: 1001 });
      expect(ids).toBe(1);
      expect(await storage.runners.find(1001)).toEqual(updated);
    });

    it('lists by id with paging, counts and deletes', async () => {
      await storage.runners.upsertWithIds([5, 3, 4, 1, 2].map((id) => runner(id, `r${id}`)));
      expect((await storage.runners.list()).map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
      expect((await storage.runners.list({ limit: 2, offset: 1 })).map((r) => r.id)).toEqual([2, 3]);
      expect(await storage.runners.list({ limit: 2, offset: 5 })).toEqual([]);
      expect(await storage.runners.count()).toBe(5);
      expect(await storage.runners.delete(3)).toBe(true);
      expect(await storage.runners.delete(3)).toBe(false);
      expect(await storage.runners.find(3)).toBeUndefined();
      expect(await storage.runners.findByName('r3')).toBeUndefined();
      expect(await storage.runners.count()).toBe(4);
    });

    it('rejects negative paging values', async () => {
      await expect(storage.runners.list({ limit: -1 })).rejects.toThrow(InvalidArgumentError);
      await expect(storage.runners.list({ offset: -5 })).rejects.toThrow(InvalidArgumentError);
      await expect(storage.runners.list({ limit: 1.5 })).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('workers', () => {
    it('creates workers with new ids and round-trips every field', async () => {
      const a = workerSpec('alpha', {
        channel: 'heavy',
        nextWorkers: [3, 2 ** 40, 7],
        storeSuccess: false,
        storeFailure: true,
        useStatic: true,
        periodicInterval: 3_600_000,
        queueType: QueueType.FORCED_RDB,
        responseType: ResponseType.LISTEN_AFTER,
        retryPolicy: { type: RetryType.LINEAR, interval: 1, maxInterval: 2 ** 40, maxRetry: 100, basis: 1 + 1 / 3 },
      });
      const b = workerSpec('beta');
      const createdA = await storage.workers.create(a);
      const createdB = await storage.workers.create(b);
      expect(createdB.id).toBeGreaterThan(createdA.id);
      for (const [created, spec] of [
        [createdA, a],
        [createdB, b],
      ] as const) {
        expect(created).toEqual({ ...spec, id: created.id });
        for (const found of [await storage.workers.find(created.id), await storage.workers.findByName(spec.name)]) {
          expect({ ...found, runnerSettings: plain(found!.runnerSettings) }).toEqual({
            ...spec,
            id: created.id,
            runnerSettings: plain(spec.runnerSettings),
          });
          expect(typeof found!.storeSuccess).toBe('boolean');
        }
      }
      expect((await storage.workers.find(createdB.id))!.channel).toBeUndefined();
      expect(await storage.workers.find(createdB.id + 1000)).toBeUndefined();
      expect(await storage.workers.findByName('gamma')).toBeUndefined();
    });

    it('refuses a taken name on create and on update', async () => {
      await storage.workers.create(workerSpec('taken'));
      const other = await storage.workers.create(workerSpec('other'));
      const onCreate = await rejectionOf(storage.workers.create(workerSpec('taken')));
      expect(onCreate).toBeInstanceOf(AlreadyExistsError);
      expect((onCreate as Error).message).toBe('a worker named "taken" already exists; pick another name');
      await expect(storage.workers.update(other.id, workerSpec('taken'))).rejects.toThrow(AlreadyExistsError);
      expect((await storage.workers.find(other.id))!.name).toBe('other');
      expect(await storage.workers.count()).toBe(2);
    });

    it('updates an existing worker, even with unchanged values, and reports a missing one', async () => {
      const w = await storage.workers.create(workerSpec('w'));
      const changed = workerSpec('w2', { channel: 'c', nextWorkers: [w.id], runnerSettings: bytes() });
      expect(await storage.workers.update(w.id, changed)).toBe(true);
      expect(await storage.workers.update(w.id, changed)).toBe(true);
      const found = (await storage.workers.find(w.id))!;
      expect({ ...found, runnerSettings: plain(found.runnerSettings) }).toEqual({
        ...changed,
        id: w.id,
        runnerSettings: [],
      });
      expect(await storage.workers.update(w.id + 1000, changed)).toBe(false);
    });

    it('rejects a name longer than the column allows', async () => {
      await expect(storage.workers.create(workerSpec('x'.repeat(129)))).rejects.toThrow(InvalidArgumentError);
      await expect(storage.workers.create(workerSpec('x'.repeat(128)))).resolves.toBeDefined();
    });

    it('lists by id with paging, counts and deletes', async () => {
      const ids: number[] = [];
      for (const name of ['a', 'b', 'c', 'd']) ids.push((await storage.workers.create(workerSpec(name))).id);
      expect((await storage.workers.list()).map((w) => w.id)).toEqual(ids);
      expect((await storage.workers.list({ limit: 2, offset: 2 })).map((w) => w.name)).toEqual(['c', 'd']);
      expect(await storage.workers.count()).toBe(4);
      expect(await storage.workers.delete(ids[0]!)).toBe(true);
      expect(await storage.workers.delete(ids[0]!)).toBe(false);
      expect(await storage.workers.count()).toBe(3);
      // the name is free again
      await expect(storage.workers.create(workerSpec('a'))).resolves.toMatchObject({ name: 'a' });
    });
  });

  describe('jobs', () => {
    const normalized = (j: Job | undefined): unknown => j && { ...j, args: plain(j.args) };

    it('inserts and finds jobs with every field intact', async () => {
      const a = job(1, { uniqKey: 'key-a', grabbedUntilTime: 1_700_000_005_000, runAfterTime: 1_700_000_001_000 });
      const b = job(2, { args: bytes(), priority: Priority.PRIORITY_LOW, retried: 3, timeout: 0 });
      await storage.jobs.insert(a);
      await storage.jobs.insert(b);
      expect(normalized(await storage.jobs.find(1))).toEqual(normalized(a));
      expect(normalized(await storage.jobs.find(2))).toEqual(normalized(b));
      expect((await storage.jobs.find(2))!.uniqKey).toBeUndefined();
      expect((await storage.jobs.find(2))!.grabbedUntilTime).toBeUndefined();
      expect(normalized(await storage.jobs.findByUniqKey('key-a'))).toEqual(normalized(a));
      expect(await storage.jobs.findByUniqKey('nope')).toBeUndefined();
      expect(await storage.jobs.find(3)).toBeUndefined();
    });

    it("keeps a job's trace context through insert, upsert and reschedule, and none for a job without", async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const traced = job(1, { trace: { traceparent, tracestate: 'vendor=x' }, grabbedUntilTime: 7 });
      await storage.jobs.insert(traced);
      await storage.jobs.insert(job(2, { trace: { traceparent } }));
      await storage.jobs.insert(job(3));
      expect(normalized(await storage.jobs.find(1))).toEqual(normalized(traced));
      expect((await storage.jobs.find(2))!.trace).toEqual({ traceparent });
      expect(await storage.jobs.find(3)).not.toHaveProperty('trace');
      expect(await storage.jobs.rescheduleIfHeld(1, 7, 1_700_000_009_000, 1)).toBe(true);
      expect((await storage.jobs.find(1))!.trace).toEqual({ traceparent, tracestate: 'vendor=x' });
      await storage.jobs.upsert(job(3, { trace: { traceparent }, retried: 1 }));
      expect((await storage.jobs.find(3))!.trace).toEqual({ traceparent });
    });

    it('round-trips ids and times near 2^53 exactly', async () => {
      const max = Number.MAX_SAFE_INTEGER;
      const big = job(max, { workerId: max - 1, enqueueTime: max - 2, runAfterTime: max - 3, timeout: max - 4 });
      await storage.jobs.insert(big);
      await storage.jobs.insert(job(max - 1));
      expect(normalized(await storage.jobs.find(max))).toEqual(normalized(big));
      expect((await storage.jobs.list()).map((j) => j.id)).toEqual([max - 1, max]);
      expect(await storage.jobs.grab(max, 0, max - 5)).toBe(true);
      expect((await storage.jobs.find(max))!.grabbedUntilTime).toBe(max - 5);
    });

    it('refuses a taken id or a pending uniq_key, and frees the key when the job is deleted', async () => {
      await storage.jobs.insert(job(1, { uniqKey: 'k' }));
      const sameId = await rejectionOf(storage.jobs.insert(job(1)));
      expect(sameId).toBeInstanceOf(AlreadyExistsError);
      expect((sameId as Error).message).toContain('id 1');
      const sameKey = await rejectionOf(storage.jobs.insert(job(2, { uniqKey: 'k' })));
      expect(sameKey).toBeInstanceOf(AlreadyExistsError);
      expect((sameKey as Error).message).toBe('a job with uniq_key "k" is still pending');
      // jobs without a key never clash
      await storage.jobs.insert(job(3));
      await storage.jobs.insert(job(4));
      expect(await storage.jobs.delete(1)).toBe(true);
      await storage.jobs.insert(job(2, { uniqKey: 'k' }));
      expect((await storage.jobs.findByUniqKey('k'))!.id).toBe(2);
    });

    it('rejects a uniq_key longer than 255 characters', async () => {
      await expect(storage.jobs.insert(job(1, { uniqKey: 'k'.repeat(256) }))).rejects.toThrow(InvalidArgumentError);
      await storage.jobs.insert(job(1, { uniqKey: 'k'.repeat(255) }));
    });

    it('upserts by id without touching another job that holds the same uniq_key', async () => {
      await storage.jobs.upsert(job(1, { uniqKey: 'one' }));
      const retry = job(1, { uniqKey: 'one', retried: 1, runAfterTime: 1_700_000_009_000, grabbedUntilTime: 5 });
      await storage.jobs.upsert(retry);
      expect(normalized(await storage.jobs.find(1))).toEqual(normalized(retry));
      expect(await storage.jobs.count()).toBe(1);

      await expect(storage.jobs.upsert(job(2, { uniqKey: 'one' }))).rejects.toThrow(AlreadyExistsError);
      await storage.jobs.insert(job(3));
      await expect(storage.jobs.upsert(job(3, { uniqKey: 'one' }))).rejects.toThrow(AlreadyExistsError);
      expect(normalized(await storage.jobs.find(1))).toEqual(normalized(retry));
      expect(await storage.jobs.find(2)).toBeUndefined();
      expect((await storage.jobs.find(3))!.uniqKey).toBeUndefined();
    });

    it('finds due jobs of the given workers in run_after_time, priority, id order', async () => {
      const now = 1_700_000_000_000;
      const jobs = [
        job(1, { runAfterTime: now - 10, priority: Priority.PRIORITY_LOW }),
        job(2, { runAfterTime: now - 10, priority: Priority.PRIORITY_HIGH }),
        job(3, { runAfterTime: now - 20 }),
        job(4, { runAfterTime: now - 10, priority: Priority.PRIORITY_HIGH }),
        job(5, { runAfterTime: now + 50 }), // due before dueBefore = now + 100
        job(6, { runAfterTime: now + 500 }), // not due yet
        job(7, { runAfterTime: 0 }), // queued, not delayed
        job(8, { runAfterTime: now - 5, grabbedUntilTime: now + 1000 }), // held
        job(9, { runAfterTime: now - 5, grabbedUntilTime: now }), // hold expired
        job(10, { runAfterTime: now - 30, workerId: 99 }), // other worker
        job(11, { runAfterTime: now - 40, workerId: 11 }),
      ];
      for (const j of jobs) await storage.jobs.insert(j);
      const due = (workerIds: number[], limit = 100): Promise<number[]> =>
        storage.jobs.findDue({ dueBefore: now + 100, now, workerIds, limit }).then((js) => js.map((j) => j.id));
      expect(await due([10, 11])).toEqual([11, 3, 2, 4, 1, 9, 5]);
      expect(await due([10])).toEqual([3, 2, 4, 1, 9, 5]);
      expect(await due([10], 3)).toEqual([3, 2, 4]);
      expect(await due([])).toEqual([]);
      expect(await due([12345])).toEqual([]);
    });

    it('lets exactly one of two racing grabs win, and releases', async () => {
      await storage.jobs.insert(job(1, { runAfterTime: 1 }));
      const wins = await Promise.all([storage.jobs.grab(1, 0, 1000), storage.jobs.grab(1, 0, 2000)]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const held = (await storage.jobs.find(1))!.grabbedUntilTime;
      expect(held).toBe(wins[0] ? 1000 : 2000);
      expect(await storage.jobs.grab(1, 0, 3000)).toBe(false);
      expect(await storage.jobs.grab(1, held!, 3000)).toBe(true);
      expect(await storage.jobs.grab(404, 0, 3000)).toBe(false);

      await storage.jobs.release(1);
      expect((await storage.jobs.find(1))!.grabbedUntilTime).toBeUndefined();
      expect(await storage.jobs.grab(1, 0, 4000)).toBe(true);
    });

    it('reschedules a job only while the caller still holds it', async () => {
      await storage.jobs.insert(job(1, { runAfterTime: 100, retried: 0 }));
      expect(await storage.jobs.grab(1, 0, 5000)).toBe(true);
      expect(await storage.jobs.rescheduleIfHeld(1, 4000, 900, 1)).toBe(false);
      expect(await storage.jobs.find(1)).toMatchObject({ runAfterTime: 100, retried: 0, grabbedUntilTime: 5000 });
      expect(await storage.jobs.rescheduleIfHeld(1, 5000, 900, 1)).toBe(true);
      expect(await storage.jobs.find(1)).toMatchObject({ runAfterTime: 900, retried: 1, grabbedUntilTime: undefined });
      // released: due again at its new time
      const due = await storage.jobs.findDue({ dueBefore: 900, now: 0, workerIds: [10], limit: 10 });
      expect(due.map((j) => j.id)).toEqual([1]);
      await storage.jobs.delete(1);
      expect(await storage.jobs.rescheduleIfHeld(1, 0, 900, 1)).toBe(false);
    });

    it('finds restorable (queued) jobs by id, with and without grabbed ones', async () => {
      const now = 1_700_000_000_000;
      await storage.jobs.insert(job(5));
      await storage.jobs.insert(job(1, { grabbedUntilTime: now + 1 })); // held
      await storage.jobs.insert(job(3, { grabbedUntilTime: now })); // hold expired
      await storage.jobs.insert(job(2));
      await storage.jobs.insert(job(4, { runAfterTime: now })); // delayed: not restorable
      const restorable = (includeGrabbed: boolean, afterId?: number, limit = 100): Promise<number[]> =>
        storage.jobs.findRestorable({ includeGrabbed, now, afterId, limit }).then((js) => js.map((j) => j.id));
      expect(await restorable(false)).toEqual([2, 3, 5]);
      expect(await restorable(true)).toEqual([1, 2, 3, 5]);
      expect(await restorable(true, undefined, 2)).toEqual([1, 2]);
      expect(await restorable(true, 2, 2)).toEqual([3, 5]);
      expect(await restorable(true, 5, 2)).toEqual([]);
      await expect(restorable(true, undefined, -1)).rejects.toThrow(InvalidArgumentError);
    });

    it('counts delayed jobs and the jobs of periodic workers apart', async () => {
      const now = 1_700_000_000_000;
      const periodic = await storage.workers.create(workerSpec('every-minute', { periodicInterval: 60_000 }));
      const plain = await storage.workers.create(workerSpec('plain'));
      await storage.jobs.insert(job(1, { workerId: plain.id, runAfterTime: now + 1 })); // delayed
      await storage.jobs.insert(job(2, { workerId: plain.id, runAfterTime: now + 60_000 })); // delayed
      await storage.jobs.insert(job(3, { workerId: plain.id, runAfterTime: now })); // due now: not delayed
      await storage.jobs.insert(job(4, { workerId: plain.id, runAfterTime: 0 })); // queued, backed up
      await storage.jobs.insert(job(5, { workerId: periodic.id, runAfterTime: now + 5 })); // periodic
      await storage.jobs.insert(job(6, { workerId: periodic.id, runAfterTime: now - 5 })); // periodic, due
      await storage.jobs.insert(job(7, { workerId: 2 ** 40, runAfterTime: now + 5 })); // worker gone: delayed
      expect(await storage.jobs.countDelayed(now)).toBe(3);
      expect(await storage.jobs.countPeriodic()).toBe(2);
      expect(await storage.jobs.countDelayed(now + 60_000)).toBe(0);
      await storage.workers.update(periodic.id, workerSpec('every-minute'));
      expect(await storage.jobs.countPeriodic()).toBe(0);
      expect(await storage.jobs.countDelayed(now)).toBe(4);
    });

    it('lists by id with paging, counts and deletes', async () => {
      for (const id of [30, 10, 20]) await storage.jobs.insert(job(id));
      expect((await storage.jobs.list()).map((j) => j.id)).toEqual([10, 20, 30]);
      expect((await storage.jobs.list({ limit: 1, offset: 1 })).map((j) => j.id)).toEqual([20]);
      expect(await storage.jobs.count()).toBe(3);
      expect(await storage.jobs.delete(20)).toBe(true);
      expect(await storage.jobs.delete(20)).toBe(false);
      expect(await storage.jobs.count()).toBe(2);
    });
  });

  describe('results', () => {
    const normalized = (r: JobResult | undefined): unknown =>
      r && { ...r, args: plain(r.args), output: r.output.map(plain) };

    it('stores results with a multi-item binary output', async () => {
      const a = result(1, {
        output: [bytes(0, 0, 0, 4), bytes(), bytes(255, 10, 0), Uint8Array.from({ length: 70_000 }, (_, i) => i % 251)],
        uniqKey: 'u',
        status: ResultStatus.MAX_RETRY,
        storeSuccess: false,
      });
      const b = result(2, { output: [] });
      await storage.results.insert(a);
      await storage.results.insert(b);
      expect(normalized(await storage.results.find(1))).toEqual(normalized(a));
      expect(normalized(await storage.results.find(2))).toEqual(normalized(b));
      expect(await storage.results.find(3)).toBeUndefined();
      await expect(storage.results.insert(result(1))).rejects.toThrow(AlreadyExistsError);
      // a second result for the same attempt of the job is refused, whatever its id
      await expect(storage.results.insert(result(99, { retried: 1 }))).rejects.toThrow(
        /a result of job 500 for attempt 1 is already stored/,
      );
      await storage.results.insert(result(98, { retried: 1, runAfterTime: 5 }));
    });

    it('lists the results of a job oldest first and finds the latest', async () => {
      await storage.results.insert(result(3, { jobId: 7, endTime: 300 }));
      await storage.results.insert(result(1, { jobId: 7, endTime: 200 }));
      await storage.results.insert(result(2, { jobId: 7, endTime: 300 }));
      await storage.results.insert(result(4, { jobId: 8, endTime: 900 }));
      expect((await storage.results.listByJobId(7)).map((r) => r.id)).toEqual([1, 2, 3]);
      expect((await storage.results.findLatestByJobId(7))!.id).toBe(3);
      expect(await storage.results.listByJobId(9)).toEqual([]);
      expect(await storage.results.findLatestByJobId(9)).toBeUndefined();
    });

    it('finds the newest result under a uniq_key, whatever its job', async () => {
      await storage.results.insert(result(1, { jobId: 7, uniqKey: 'task-a', endTime: 100 }));
      await storage.results.insert(result(2, { jobId: 8, uniqKey: 'task-a', endTime: 300 }));
      await storage.results.insert(result(3, { jobId: 9, uniqKey: 'task-b', endTime: 900 }));
      await storage.results.insert(result(4, { jobId: 10, uniqKey: undefined, endTime: 950 }));
      expect((await storage.results.findLatestByUniqKey('task-a'))!.id).toBe(2);
      expect((await storage.results.findLatestByUniqKey('task-b'))!.jobId).toBe(9);
      expect(await storage.results.findLatestByUniqKey('task-c')).toBeUndefined();
    });

    it('lists by id with paging, counts, deletes and deletes what ended before a time', async () => {
      for (const [id, endTime] of [
        [1, 100],
        [2, 200],
        [3, 300],
        [4, 400],
      ] as const) {
        await storage.results.insert(result(id, { endTime }));
      }
      expect((await storage.results.list({ limit: 2, offset: 1 })).map((r) => r.id)).toEqual([2, 3]);
      expect(await storage.results.count()).toBe(4);
      expect(await storage.results.delete(4)).toBe(true);
      expect(await storage.results.delete(4)).toBe(false);
      expect(await storage.results.deleteEndedBefore(300)).toBe(2);
      expect(await storage.results.deleteEndedBefore(300)).toBe(0);
      expect((await storage.results.list()).map((r) => r.id)).toEqual([3]);
    });
  });

  describe('schedules', () => {
    const normalized = (s: Schedule | undefined): unknown => s && { ...s, args: plain(s.args) };

    it('creates schedules with new ids and round-trips every field', async () => {
      const a = scheduleSpec('every-2s');
      const b = scheduleSpec('nightly', {
        cron: '0 0 3 * * * 2030',
        timeZone: 'Asia/Tokyo',
        workerId: undefined,
        workerName: 'backup',
        args: bytes(),
        priority: Priority.PRIORITY_LOW,
        uniqKey: 'nightly-backup',
        timeout: 2 ** 40,
        missedTick: 'run-once',
        overlap: 'skip',
        origin: 'file',
      });
      const createdA = await storage.schedules.create(a, 1_700_000_000_000);
      const createdB = await storage.schedules.create(b, 0);
      expect(createdB.id).toBeGreaterThan(createdA.id);
      expect(normalized(await storage.schedules.find(createdA.id))).toEqual(
        normalized({ ...a, id: createdA.id, nextTickTime: 1_700_000_000_000, lastTickTime: 0, lastJobId: undefined }),
      );
      expect(normalized(await storage.schedules.findByName('nightly'))).toEqual(
        normalized({ ...b, id: createdB.id, nextTickTime: 0, lastTickTime: 0, lastJobId: undefined }),
      );
      expect(await storage.schedules.find(createdB.id + 1000)).toBeUndefined();
      expect((await storage.schedules.listByOrigin('file')).map((s) => s.name)).toEqual(['nightly']);
      expect((await storage.schedules.listByOrigin('api')).map((s) => s.name)).toEqual(['every-2s']);
      expect(await storage.schedules.count()).toBe(2);
    });

    it('refuses a taken name, updates, lists with paging and deletes', async () => {
      const a = await storage.schedules.create(scheduleSpec('a'), 100);
      const b = await storage.schedules.create(scheduleSpec('b'), 200);
      const clash = await rejectionOf(storage.schedules.create(scheduleSpec('a'), 1));
      expect(clash).toBeInstanceOf(AlreadyExistsError);
      expect((clash as Error).message).toBe('a schedule named "a" already exists; pick another name');
      await expect(storage.schedules.update(b.id, scheduleSpec('a'), 1)).rejects.toThrow(AlreadyExistsError);
      expect(
        await storage.schedules.claimTick({
          id: a.id,
          expectedNextTickTime: 100,
          tickTime: 100,
          nextTickTime: 150,
          jobId: 7,
        }),
      ).toBe(true);
      expect(await storage.schedules.update(a.id, scheduleSpec('a2', { cron: '0 * * * *' }), 3600)).toBe(true);
      // the tick bookkeeping survives an update
      expect(await storage.schedules.find(a.id)).toMatchObject({
        name: 'a2',
        cron: '0 * * * *',
        nextTickTime: 3600,
        lastTickTime: 100,
        lastJobId: 7,
      });
      expect(await storage.schedules.update(b.id + 1000, scheduleSpec('x'), 1)).toBe(false);
      expect((await storage.schedules.list({ limit: 1, offset: 1 })).map((s) => s.id)).toEqual([b.id]);
      expect(await storage.schedules.delete(a.id)).toBe(true);
      expect(await storage.schedules.delete(a.id)).toBe(false);
      expect(await storage.schedules.count()).toBe(1);
      await expect(storage.schedules.create(scheduleSpec('n'.repeat(129)), 1)).rejects.toThrow(InvalidArgumentError);
    });

    it('finds due schedules earliest first, never those without a next tick', async () => {
      const at = async (name: string, next: number): Promise<number> =>
        (await storage.schedules.create(scheduleSpec(name), next)).id;
      const late = await at('late', 500);
      const early = await at('early', 100);
      await at('done', 0);
      await at('future', 10_000);
      const due = async (before: number, limit = 10): Promise<number[]> =>
        (await storage.schedules.findDue(before, limit)).map((s) => s.id);
      expect(await due(1000)).toEqual([early, late]);
      expect(await due(1000, 1)).toEqual([early]);
      expect(await due(99)).toEqual([]);
    });

    it('lets exactly one of many racing claims of a tick win', async () => {
      const s = await storage.schedules.create(scheduleSpec('race'), 2000);
      const claims = Array.from({ length: 8 }, (_, i) =>
        storage.schedules.claimTick({
          id: s.id,
          expectedNextTickTime: 2000,
          tickTime: 2000,
          nextTickTime: 4000,
          jobId: i + 1,
        }),
      );
      const wins = await Promise.all(claims);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins.indexOf(true) + 1;
      expect(await storage.schedules.find(s.id)).toMatchObject({
        nextTickTime: 4000,
        lastTickTime: 2000,
        lastJobId: winner,
      });
      // a stale claim of the same tick loses; a skipped tick keeps the last job
      expect(
        await storage.schedules.claimTick({
          id: s.id,
          expectedNextTickTime: 2000,
          tickTime: 2000,
          nextTickTime: 4000,
          jobId: 99,
        }),
      ).toBe(false);
      expect(
        await storage.schedules.claimTick({
          id: s.id,
          expectedNextTickTime: 4000,
          tickTime: 4000,
          nextTickTime: 6000,
          jobId: undefined,
        }),
      ).toBe(true);
      expect(await storage.schedules.find(s.id)).toMatchObject({
        nextTickTime: 6000,
        lastTickTime: 4000,
        lastJobId: winner,
      });
      expect(
        await storage.schedules.claimTick({
          id: s.id + 1000,
          expectedNextTickTime: 0,
          tickTime: 1,
          nextTickTime: 2,
          jobId: 1,
        }),
      ).toBe(false);
    });
    it('records a firing lease with a claim, holds later claims until it is cleared, and lets one take it over', async () => {
      const s = await storage.schedules.create(scheduleSpec('leased'), 2000);
      const lease = { jobId: 77, tickTime: 2000, until: 5000 };
      expect(
        await storage.schedules.claimTick({
          id: s.id,
          expectedNextTickTime: 2000,
          tickTime: 2000,
          nextTickTime: 0,
          jobId: 77,
          firingUntil: 5000,
        }),
      ).toBe(true);
      // no next tick, yet due once the lease expires, with the lease
      expect(await storage.schedules.findDue(4999, 10)).toEqual([]);
      const [due] = await storage.schedules.findDue(5000, 10);
      expect(due).toMatchObject({ id: s.id, nextTickTime: 0, lastJobId: 77, firing: lease });
      expect(await storage.schedules.update(s.id, scheduleSpec('leased'), 8000)).toBe(true);
      // a later tick waits for the lease
      const next = { id: s.id, expectedNextTickTime: 8000, tickTime: 8000, nextTickTime: 9000, jobId: 78 };
      expect(await storage.schedules.claimTick(next)).toBe(false);
      const takers = Array.from({ length: 6 }, (_, i) => storage.schedules.takeOverFiring(s.id, lease, 6000 + i));
      const taken = await Promise.all(takers);
      expect(taken.filter(Boolean)).toHaveLength(1);
      const until = 6000 + taken.indexOf(true);
      expect((await storage.schedules.findDue(10_000, 10))[0]?.firing).toEqual({ ...lease, until });
      // the lease that was taken over is no longer the claimer's to clear
      expect(await storage.schedules.takeOverFiring(s.id, lease, 7000)).toBe(false);
      expect(await storage.schedules.clearFiring(s.id, lease)).toBe(false);
      expect(await storage.schedules.clearFiring(s.id, { ...lease, until })).toBe(true);
      expect((await storage.schedules.findDue(10_000, 10))[0]?.firing).toBeUndefined();
      expect(await storage.schedules.claimTick(next)).toBe(true);
      // a claim without firingUntil (a skipped tick, a job nobody needs to recover) records no lease
      expect(await storage.schedules.claimTick({ ...next, expectedNextTickTime: 9000, nextTickTime: 9500 })).toBe(true);
      expect(await storage.schedules.findDue(10_000, 10)).toMatchObject([{ nextTickTime: 9500, firing: undefined }]);
    });
  });

  describe('switches', () => {
    it('are off until set, and keep the last value set', async () => {
      expect(await storage.switches.isOn('pause')).toBe(false);
      await storage.switches.set('pause', true, 1);
      expect(await storage.switches.isOn('pause')).toBe(true);
      expect(await storage.switches.isOn('other')).toBe(false);
      await storage.switches.set('pause', true, 2);
      expect(await storage.switches.isOn('pause')).toBe(true);
      await storage.switches.set('pause', false, 3);
      expect(await storage.switches.isOn('pause')).toBe(false);
    });
  });

  describe('dead letters', () => {
    const normalized = (d: DeadLetter | undefined): unknown =>
      d && { ...d, args: plain(d.args), output: d.output.map(plain) };
    const ids = (list: DeadLetter[]): number[] => list.map((d) => d.id);

    it('keeps every field, and one dead letter per attempt of a job', async () => {
      const a = deadLetter(1, { uniqKey: 'k', output: [bytes(0, 255), bytes()], status: ResultStatus.FATAL_ERROR });
      await storage.deadLetters.insert(a);
      expect(normalized(await storage.deadLetters.find(1))).toEqual(normalized(a));
      expect(await storage.deadLetters.find(2)).toBeUndefined();
      await expect(storage.deadLetters.insert(deadLetter(1, { jobId: 5 }))).rejects.toThrow(AlreadyExistsError);
      // the same attempt delivered again, whatever the new id
      await expect(storage.deadLetters.insert(deadLetter(9, { jobId: a.jobId }))).rejects.toThrow(
        /attempt 3 of job 701 is already a dead letter/,
      );
      await storage.deadLetters.insert(deadLetter(9, { jobId: a.jobId, retried: 0 }));
      expect(await storage.deadLetters.count({})).toBe(2);
    });

    it('filters by worker, status, time range and requeued, newest first, with paging', async () => {
      await storage.deadLetters.insert(deadLetter(1));
      await storage.deadLetters.insert(deadLetter(2, { workerId: 11, status: ResultStatus.FATAL_ERROR }));
      await storage.deadLetters.insert(deadLetter(3, { status: ResultStatus.CANCELLED }));
      await storage.deadLetters.insert(deadLetter(4));
      expect(ids(await storage.deadLetters.list({}))).toEqual([4, 3, 2, 1]);
      expect(ids(await storage.deadLetters.list({ limit: 2, offset: 1 }))).toEqual([3, 2]);
      expect(ids(await storage.deadLetters.list({ workerId: 10 }))).toEqual([4, 3, 1]);
      expect(ids(await storage.deadLetters.list({ statuses: [ResultStatus.MAX_RETRY] }))).toEqual([4, 1]);
      const t = (n: number): number => 1_700_000_000_000 + n * 1000;
      expect(ids(await storage.deadLetters.list({ diedFrom: t(2), diedBefore: t(4) }))).toEqual([3, 2]);
      expect(await storage.deadLetters.count({ workerId: 10, diedFrom: t(3) })).toBe(2);
      expect(await storage.deadLetters.markRequeued(4, 9004, t(9))).toBe(true);
      expect(await storage.deadLetters.markRequeued(4, 9005, t(9))).toBe(false);
      expect(await storage.deadLetters.find(4)).toMatchObject({ requeuedJobId: 9004, requeuedAt: t(9) });
      expect(ids(await storage.deadLetters.list({ requeued: true }))).toEqual([4]);
      expect(ids(await storage.deadLetters.list({ requeued: false }))).toEqual([3, 2, 1]);
      await storage.deadLetters.unmarkRequeued(4, 9999);
      expect((await storage.deadLetters.find(4))?.requeuedJobId).toBe(9004);
      await storage.deadLetters.unmarkRequeued(4, 9004);
      expect(await storage.deadLetters.find(4)).toMatchObject({ requeuedJobId: undefined, requeuedAt: undefined });
    });

    it('refuses filters that make no sense, saying what to change', async () => {
      await expect(storage.deadLetters.list({ statuses: [ResultStatus.SUCCESS] })).rejects.toThrow(
        /status SUCCESS never makes a dead letter/,
      );
      await expect(storage.deadLetters.count({ diedFrom: 5, diedBefore: 5 })).rejects.toThrow(
        /died_from \(5\) must be earlier than died_before/,
      );
      await expect(storage.deadLetters.deleteMatching({ diedBefore: -1 })).rejects.toThrow(InvalidArgumentError);
      await expect(storage.deadLetters.list({ limit: -1 })).rejects.toThrow(InvalidArgumentError);
    });

    it('purges by filter and prunes by age and count', async () => {
      for (let id = 1; id <= 6; id++) await storage.deadLetters.insert(deadLetter(id));
      expect(await storage.deadLetters.deleteMatching({ diedBefore: 1_700_000_002_000 })).toBe(1);
      expect(await storage.deadLetters.delete(6)).toBe(true);
      expect(await storage.deadLetters.delete(6)).toBe(false);
      // older than id 3's death, then all but the newest 1
      expect(await storage.deadLetters.prune(1_700_000_003_000, 1)).toBe(3);
      expect(ids(await storage.deadLetters.list({}))).toEqual([5]);
      expect(await storage.deadLetters.prune(0, 1)).toBe(0);
    });

    it('stores, replaces and deletes per-worker options', async () => {
      expect(await storage.deadLetters.findPolicy(10)).toBeUndefined();
      await storage.deadLetters.savePolicy({ workerId: 10, enabled: true, extraStatuses: [ResultStatus.CANCELLED] }, 1);
      await storage.deadLetters.savePolicy({ workerId: 10, enabled: true, extraStatuses: [ResultStatus.CANCELLED] }, 1);
      await storage.deadLetters.savePolicy({ workerId: 3, enabled: false, extraStatuses: [] }, 2);
      expect(await storage.deadLetters.listPolicies()).toEqual([
        { workerId: 3, enabled: false, extraStatuses: [] },
        { workerId: 10, enabled: true, extraStatuses: [ResultStatus.CANCELLED] },
      ]);
      await storage.deadLetters.savePolicy(
        { workerId: 10, enabled: true, extraStatuses: [ResultStatus.OTHER_ERROR, ResultStatus.ABORT] },
        3,
      );
      expect(await storage.deadLetters.findPolicy(10)).toEqual({
        workerId: 10,
        enabled: true,
        extraStatuses: [ResultStatus.ABORT, ResultStatus.OTHER_ERROR],
      });
      expect(await storage.deadLetters.deletePolicy(10)).toBe(true);
      expect(await storage.deadLetters.deletePolicy(10)).toBe(false);
    });

    it('deletes a worker’s options with the worker, and only those', async () => {
      const gone = await storage.workers.create(workerSpec('gone'));
      const kept = await storage.workers.create(workerSpec('kept'));
      await storage.deadLetters.savePolicy({ workerId: gone.id, enabled: false, extraStatuses: [] }, 1);
      await storage.deadLetters.savePolicy(
        { workerId: kept.id, enabled: true, extraStatuses: [ResultStatus.ABORT] },
        1,
      );
      expect(await storage.workers.delete(gone.id)).toBe(true);
      expect(await storage.deadLetters.findPolicy(gone.id)).toBeUndefined();
      expect(await storage.deadLetters.listPolicies()).toEqual([
        { workerId: kept.id, enabled: true, extraStatuses: [ResultStatus.ABORT] },
      ]);
      // a worker created again under the name starts from the default, whatever id it gets
      const again = await storage.workers.create(workerSpec('gone'));
      expect(await storage.deadLetters.findPolicy(again.id)).toBeUndefined();
      expect(await storage.workers.delete(gone.id)).toBe(false);
    });
  });

  it('reports UnavailableError once closed', async () => {
    const other = await database.open();
    await other.ping();
    await other.close();
    await other.close();
    await expect(other.ping()).rejects.toThrow(UnavailableError);
    await expect(other.jobs.find(1)).rejects.toThrow(UnavailableError);
  });
});

describe('mysql connection failures', () => {
  const password = 'pw-never-shown-7c1f';

  it('reports UnavailableError naming the address, without the password, when nothing listens', async () => {
    const err = await rejectionOf(openMysqlStorage({ ...MARIADB, port: 1, password, database: 'jw_unreachable' }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/^database unavailable: .*check that MariaDB is running at 127\.0\.0\.1:1/);
    expect((err as Error).message).not.toContain(password);
  });

  it('reports UnavailableError without the password when the password is wrong', async () => {
    const err = await rejectionOf(openMysqlStorage({ ...MARIADB, password, database: 'jw_denied' }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain('Access denied');
    expect((err as Error).message).not.toContain(password);
  });
});

// Several processes share a database only in Scalable mode (MySQL/MariaDB); they all seed the runner rows at start.
describe('MariaDB storage shared by several processes', () => {
  const adapter = mysqlAdapter;

  it('seeds the same runners from several processes starting at once', async () => {
    const seed = Array.from({ length: 6 }, (_, i) => runner(i + 1, `seed-${i + 1}`));
    for (let round = 0; round < 4; round++) {
      const fresh = await adapter.createDatabase();
      const stores = await Promise.all([1, 2, 3, 4].map(() => fresh.open()));
      try {
        await stores[0]!.migrate();
        // concurrent update-else-insert transactions on missing rows take gap locks that deadlock in InnoDB
        await Promise.all(stores.map((s) => s.runners.upsertWithIds(seed)));
        expect((await stores[1]!.runners.list()).map((r) => r.name)).toEqual(seed.map((r) => r.name));
      } finally {
        for (const s of stores) await s.close();
        await fresh.drop();
      }
    }
  });
});
