import type { Kysely } from 'kysely';
import type { Page, Runner, RunnerSpec } from '../../core/src/index.js';
import { quote } from '../../core/src/index.js';
import type { DbErrorContext, DescribeClash } from './db-errors.js';
import { duplicateColumn, withDbErrors } from './db-errors.js';
import { normalizePage } from './paging.js';
import type { RunnerRepository } from './ports.js';
import { runnerFromRow, runnerToRow, toSafeInteger } from './row-mapping.js';
import type { Database } from './schema.js';
import { updateOrInsert } from './update-or-insert.js';

export class KyselyRunnerRepository implements RunnerRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async upsertWithIds(runners: readonly Runner[]): Promise<void> {
    // one unit for withDbErrors, so a transaction that lost a lock conflict (processes starting together) runs again
    let current: Runner | undefined;
    await withDbErrors(
      this.errors,
      () =>
        this.db.transaction().execute(async (trx) => {
          for (const runner of runners) {
            current = runner;
            await upsertById(trx, runner);
          }
        }),
      (column) => (current === undefined ? `a runner row clashes on ${column}` : clashOf(current)(column)),
    );
  }

  async upsertByName(spec: RunnerSpec, newId: () => number): Promise<Runner> {
    return withDbErrors(
      this.errors,
      async () => {
        for (let attempt = 1; ; attempt++) {
          const existing = await this.db
            .selectFrom('runner')
            .select('id')
            .where('name', '=', spec.name)
            .executeTakeFirst();
          if (existing !== undefined) {
            const runner = { ...spec, id: toSafeInteger(existing.id, 'runner.id') };
            await upsertById(this.db, runner);
            return runner;
          }
          const runner = { ...spec, id: newId() };
          try {
            await this.db.insertInto('runner').values(runnerToRow(runner)).execute();
            return runner;
          } catch (err) {
            // another process registered the same name in between: update that row instead (once)
            if (attempt > 1 || duplicateColumn(err) !== 'name') throw err;
          }
        }
      },
      clashOf(spec),
    );
  }

  async find(id: number): Promise<Runner | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('runner').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && runnerFromRow(row);
  }

  async findByName(name: string): Promise<Runner | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('runner').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && runnerFromRow(row);
  }

  async list(page?: Page): Promise<Runner[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('runner').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map(runnerFromRow);
  }

  async count(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('runner')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('runner').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }
}

function upsertById(db: Kysely<Database>, runner: Runner): Promise<void> {
  const { id: _id, ...columns } = runnerToRow(runner);
  return updateOrInsert(
    async () => {
      const result = await db.updateTable('runner').set(columns).where('id', '=', runner.id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async () => {
      await db.insertInto('runner').values(runnerToRow(runner)).execute();
    },
  );
}

function clashOf(runner: RunnerSpec & { readonly id?: number }): DescribeClash {
  return (column) =>
    column === 'name'
      ? `a runner named ${quote(runner.name)} already exists with another id; pick another name`
      : `a runner with id ${runner.id ?? '(new)'} already exists`;
}
