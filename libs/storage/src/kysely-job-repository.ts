import type { Kysely } from 'kysely';
import type { Job, Page } from '../../core/src/index.js';
import { quote } from '../../core/src/index.js';
import type { DbErrorContext, DescribeClash } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { checkLimit, normalizePage } from './paging.js';
import type { DueJobQuery, JobRepository, RestorableJobQuery } from './ports.js';
import { jobFromRow, jobToRow, toSafeInteger } from './row-mapping.js';
import type { Database } from './schema.js';
import { updateOrInsert } from './update-or-insert.js';

export class KyselyJobRepository implements JobRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async insert(job: Job): Promise<void> {
    await withDbErrors(this.errors, () => this.db.insertInto('job').values(jobToRow(job)).execute(), clashOf(job));
  }

  async upsert(job: Job): Promise<void> {
    const row = jobToRow(job);
    const { id: _id, ...columns } = row;
    await withDbErrors(
      this.errors,
      () =>
        updateOrInsert(
          async () => {
            const result = await this.db.updateTable('job').set(columns).where('id', '=', job.id).executeTakeFirst();
            return result.numUpdatedRows > 0n;
          },
          async () => {
            await this.db.insertInto('job').values(row).execute();
          },
        ),
      clashOf(job),
    );
  }

  async find(id: number): Promise<Job | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && jobFromRow(row);
  }

  async findByUniqKey(uniqKey: string): Promise<Job | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('job').selectAll().where('uniq_key', '=', uniqKey).executeTakeFirst(),
    );
    return row && jobFromRow(row);
  }

  async list(page?: Page): Promise<Job[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('job').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map(jobFromRow);
  }

  async count(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async countDelayed(now: number): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job')
        .leftJoin('worker', 'worker.id', 'job.worker_id')
        .where('job.run_after_time', '>', now)
        // a job whose worker is gone is not periodic any more
        .where((eb) => eb.or([eb('worker.id', 'is', null), eb('worker.periodic_interval', '=', 0)]))
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async countPeriodic(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job')
        .innerJoin('worker', 'worker.id', 'job.worker_id')
        .where('worker.periodic_interval', '>', 0)
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('job').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async findDue(query: DueJobQuery): Promise<Job[]> {
    const limit = checkLimit(query.limit, 'limit');
    if (query.workerIds.length === 0 || limit === 0) return [];
    const rows = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job')
        .selectAll()
        .where('run_after_time', '>', 0)
        .where('run_after_time', '<=', query.dueBefore)
        .where('grabbed_until_time', '<=', query.now)
        .where('worker_id', 'in', query.workerIds)
        .orderBy('run_after_time')
        .orderBy('priority', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute(),
    );
    return rows.map(jobFromRow);
  }

  async grab(id: number, expected: number, until: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('job')
        .set({ grabbed_until_time: until })
        .where('id', '=', id)
        .where('grabbed_until_time', '=', expected)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async release(id: number): Promise<void> {
    await withDbErrors(this.errors, () =>
      this.db.updateTable('job').set({ grabbed_until_time: 0 }).where('id', '=', id).execute(),
    );
  }

  async rescheduleIfHeld(id: number, heldUntil: number, runAfterTime: number, retried: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('job')
        .set({ run_after_time: runAfterTime, retried, grabbed_until_time: 0 })
        .where('id', '=', id)
        .where('grabbed_until_time', '=', heldUntil)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async findRestorable(query: RestorableJobQuery): Promise<Job[]> {
    const limit = checkLimit(query.limit, 'limit');
    if (limit === 0) return [];
    const rows = await withDbErrors(this.errors, () => {
      let q = this.db
        .selectFrom('job')
        .selectAll()
        .where('run_after_time', '=', 0)
        .where('id', '>', query.afterId ?? 0);
      if (!query.includeGrabbed) q = q.where('grabbed_until_time', '<=', query.now);
      return q.orderBy('id').limit(limit).execute();
    });
    return rows.map(jobFromRow);
  }
}

function clashOf(job: Job): DescribeClash {
  return (column) =>
    column === 'uniq_key'
      ? `a job with uniq_key ${quote(job.uniqKey ?? '')} is still pending`
      : `a job with id ${job.id} already exists`;
}
