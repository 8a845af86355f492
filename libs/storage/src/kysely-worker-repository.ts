import type { Kysely } from 'kysely';
import type { Page, Worker, WorkerSpec } from '../../core/src/index.js';
import { InternalError, quote } from '../../core/src/index.js';
import type { DbErrorContext, DescribeClash } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { normalizePage } from './paging.js';
import type { WorkerRepository } from './ports.js';
import { toSafeInteger, workerFromRow, workerSpecToRow } from './row-mapping.js';
import type { Database } from './schema.js';

export class KyselyWorkerRepository implements WorkerRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async create(spec: WorkerSpec): Promise<Worker> {
    const now = Date.now();
    const result = await withDbErrors(
      this.errors,
      () =>
        this.db
          .insertInto('worker')
          .values({ ...workerSpecToRow(spec), created_at: now, updated_at: now })
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
          .set({ ...workerSpecToRow(spec), updated_at: Date.now() })
          .where('id', '=', id)
          .executeTakeFirst(),
      clashOf(spec),
    );
    return result.numUpdatedRows > 0n;
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('worker').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async find(id: number): Promise<Worker | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && workerFromRow(row);
  }

  async findByName(name: string): Promise<Worker | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && workerFromRow(row);
  }

  async list(page?: Page): Promise<Worker[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('worker').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map(workerFromRow);
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
