import type { Kysely } from 'kysely';
import type { JobResult, Page } from '../../core/src/index.js';
import { withDbErrors } from './db-errors.js';
import type { DbErrorContext } from './db-errors.js';
import { normalizePage } from './paging.js';
import type { JobResultRepository } from './ports.js';
import { jobResultFromRow, jobResultToRow, toSafeInteger } from './row-mapping.js';
import type { Database } from './schema.js';

export class KyselyJobResultRepository implements JobResultRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async insert(result: JobResult): Promise<void> {
    await withDbErrors(
      this.errors,
      () => this.db.insertInto('job_result').values(jobResultToRow(result)).execute(),
      (column) =>
        column === 'id'
          ? `a job result with id ${result.id} already exists`
          : `a result of job ${result.jobId} for attempt ${result.retried} is already stored`,
    );
  }

  async find(id: number): Promise<JobResult | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('job_result').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && jobResultFromRow(row);
  }

  async list(page?: Page): Promise<JobResult[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('job_result').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map(jobResultFromRow);
  }

  async listByJobId(jobId: number): Promise<JobResult[]> {
    const rows = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job_result')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('end_time')
        .orderBy('id')
        .execute(),
    );
    return rows.map(jobResultFromRow);
  }

  async findLatestByJobId(jobId: number): Promise<JobResult | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job_result')
        .selectAll()
        .where('job_id', '=', jobId)
        .orderBy('end_time', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row && jobResultFromRow(row);
  }

  async findLatestByUniqKey(uniqKey: string): Promise<JobResult | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job_result')
        .selectAll()
        .where('uniq_key', '=', uniqKey)
        .orderBy('end_time', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row && jobResultFromRow(row);
  }

  async count(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('job_result')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('job_result').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async deleteEndedBefore(time: number): Promise<number> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('job_result').where('end_time', '<', time).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
