import type { Kysely, Selectable } from 'kysely';
import type { Page, Worker, WorkerSpec } from '../../core/src/index.js';
import { InternalError, quote } from '../../core/src/index.js';
import type { DbErrorContext, DescribeClash } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { normalizePage } from './paging.js';
import type { WorkerRepository } from './ports.js';
import { toSafeInteger, workerFromRow, workerSpecToRow } from './row-mapping.js';
import type { Database, WorkerTable } from './schema.js';
import { openWithoutKey, SettingsCipher } from './settings-cipher.js';

/** The keys of runner settings at rest, as 64 hex digits each. */
export interface SecretsKeys {
  /** SECRETS_KEY: seals and opens */
  readonly secretsKeyHex?: string | undefined;
  /** SECRETS_KEY_PREVIOUS: only opens */
  readonly previousSecretsKeysHex?: readonly string[] | undefined;
}

/** Workers in the `worker` table; runner settings are stored encrypted when a key is given (see SettingsCipher). */
export class KyselyWorkerRepository implements WorkerRepository {
  private readonly cipher: SettingsCipher | undefined;

  /**
   * @param keys SECRETS_KEY (and SECRETS_KEY_PREVIOUS) as 64 hex digits; without a key settings are stored as they
   * are
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
    keys: SecretsKeys = {},
  ) {
    this.cipher =
      keys.secretsKeyHex === undefined
        ? undefined
        : new SettingsCipher(keys.secretsKeyHex, keys.previousSecretsKeysHex);
  }

  private toRow(spec: WorkerSpec): ReturnType<typeof workerSpecToRow> {
    const row = workerSpecToRow(spec);
    return this.cipher === undefined ? row : { ...row, runner_settings: this.cipher.seal(spec.runnerSettings) };
  }

  private fromRow(row: Selectable<WorkerTable>): Worker {
    const worker = workerFromRow(row);
    const what = `the runner settings of worker ${worker.id}`;
    const settings =
      this.cipher === undefined
        ? openWithoutKey(worker.runnerSettings, what)
        : this.cipher.open(worker.runnerSettings, what);
    return { ...worker, runnerSettings: settings };
  }

  async create(spec: WorkerSpec): Promise<Worker> {
    const now = Date.now();
    const result = await withDbErrors(
      this.errors,
      () =>
        this.db
          .insertInto('worker')
          .values({ ...this.toRow(spec), created_at: now, updated_at: now })
          .executeTakeFirstOrThrow(),
      clashOf(spec),
    );
    if (result.insertId === undefined) throw new InternalError('the database did not return the new worker id');
    return { ...spec, id: toSafeInteger(result.insertId, 'worker.id') };
  }

  async update(id: number, spec: WorkerSpec): Promise<boolean> {
    const result = await withDbErrors(
      this.errors,
      () =>
        this.db
          .updateTable('worker')
          .set({ ...this.toRow(spec), updated_at: Date.now() })
          .where('id', '=', id)
          .executeTakeFirst(),
      clashOf(spec),
    );
    return result.numUpdatedRows > 0n;
  }

  /** Deletes the worker and, in the same transaction, its dead-letter options (they are keyed by its id). */
  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('dead_letter_policy').where('worker_id', '=', id).execute();
        return trx.deleteFrom('worker').where('id', '=', id).executeTakeFirst();
      }),
    );
    return result.numDeletedRows > 0n;
  }

  async find(id: number): Promise<Worker | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && this.fromRow(row);
  }

  async findByName(name: string): Promise<Worker | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && this.fromRow(row);
  }

  async list(page?: Page): Promise<Worker[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map((row) => this.fromRow(row));
  }

  async count(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('worker')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }
}

function clashOf(spec: WorkerSpec): DescribeClash {
  return (column) =>
    column === 'name'
      ? `a worker named ${quote(spec.name)} already exists; pick another name`
      : `a worker with the same ${column} already exists`;
}
