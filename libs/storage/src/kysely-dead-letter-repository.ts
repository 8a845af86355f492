/**
 * Dead letters and the per-worker dead-letter options, the same code on SQLite and MySQL. Lists are newest first
 * (died_at, then id, descending). Retention (prune) deletes what died before a time and everything beyond the newest
 * `keep` rows; it runs as plain deletes, so several processes pruning at once only repeat each other's work.
 */
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool } from 'kysely';
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPolicy,
  DeadLetterQuery,
  Priority,
} from '../../core/src/index.js';
import { checkDeadLetterFilter, InternalError, ResultStatus } from '../../core/src/index.js';
import { ResultOutput } from '../../proto/src/index.js';
import type { DbErrorContext } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { normalizePage } from './paging.js';
import type { DeadLetterRepository } from './ports.js';
import { toBuffer, toSafeInteger } from './row-mapping.js';
import type { Database, DeadLetterPolicyTable, DeadLetterTable } from './schema.js';

export class KyselyDeadLetterRepository implements DeadLetterRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async insert(letter: DeadLetter): Promise<void> {
    await withDbErrors(
      this.errors,
      () =>
        this.db
          .insertInto('dead_letter')
          .values({
            id: letter.id,
            job_id: letter.jobId,
            worker_id: letter.workerId,
            worker_name: letter.workerName,
            args: toBuffer(letter.args),
            uniq_key: letter.uniqKey ?? null,
            priority: letter.priority,
            timeout: letter.timeout,
            enqueue_time: letter.enqueueTime,
            run_after_time: letter.runAfterTime,
            retried: letter.retried,
            max_retry: letter.maxRetry,
            status: letter.status,
            output: Buffer.from(ResultOutput.encode({ items: letter.output.map(toBuffer) }).finish()),
            start_time: letter.startTime,
            end_time: letter.endTime,
            died_at: letter.diedAt,
            requeued_job_id: letter.requeuedJobId ?? 0,
            requeued_at: letter.requeuedAt ?? 0,
          })
          .execute(),
      (column) =>
        column === 'id'
          ? `a dead letter with id ${letter.id} already exists`
          : `attempt ${letter.retried} of job ${letter.jobId} is already a dead letter`,
    );
  }

  async find(id: number): Promise<DeadLetter | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('dead_letter').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && deadLetterFromRow(row);
  }

  async list(query: DeadLetterQuery): Promise<DeadLetter[]> {
    checkDeadLetterFilter(query);
    const { limit, offset } = normalizePage(query);
    const rows = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('dead_letter')
        .selectAll()
        .where((eb) => matching(eb, query))
        .orderBy('died_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
    );
    return rows.map(deadLetterFromRow);
  }

  async count(filter: DeadLetterFilter): Promise<number> {
    checkDeadLetterFilter(filter);
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('dead_letter')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where((eb) => matching(eb, filter))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async markRequeued(id: number, jobId: number, at: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('dead_letter')
        .set({ requeued_job_id: jobId, requeued_at: at })
        .where('id', '=', id)
        .where('requeued_job_id', '=', 0)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows > 0n;
  }

  async unmarkRequeued(id: number, jobId: number): Promise<void> {
    await withDbErrors(this.errors, () =>
      this.db
        .updateTable('dead_letter')
        .set({ requeued_job_id: 0, requeued_at: 0 })
        .where('id', '=', id)
        .where('requeued_job_id', '=', jobId)
        .execute(),
    );
  }

  async deleteMatching(filter: DeadLetterFilter): Promise<number> {
    checkDeadLetterFilter(filter);
    const result = await withDbErrors(this.errors, () =>
      this.db
        .deleteFrom('dead_letter')
        .where((eb) => matching(eb, filter))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('dead_letter').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async prune(diedBefore: number, keep: number): Promise<number> {
    let deleted = Number(
      (
        await withDbErrors(this.errors, () =>
          this.db.deleteFrom('dead_letter').where('died_at', '<', diedBefore).executeTakeFirst(),
        )
      ).numDeletedRows,
    );
    // the newest row beyond `keep`: it and everything older goes (MySQL cannot delete from a table it selects from)
    const cut = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('dead_letter')
        .select(['died_at', 'id'])
        .orderBy('died_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .offset(keep)
        .executeTakeFirst(),
    );
    if (cut !== undefined) {
      const diedAt = toSafeInteger(cut.died_at, 'dead_letter.died_at');
      const id = toSafeInteger(cut.id, 'dead_letter.id');
      const result = await withDbErrors(this.errors, () =>
        this.db
          .deleteFrom('dead_letter')
          .where((eb) => eb.or([eb('died_at', '<', diedAt), eb.and([eb('died_at', '=', diedAt), eb('id', '<=', id)])]))
          .executeTakeFirst(),
      );
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  async findPolicy(workerId: number): Promise<DeadLetterPolicy | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('dead_letter_policy').selectAll().where('worker_id', '=', workerId).executeTakeFirst(),
    );
    return row && policyFromRow(row);
  }

  async listPolicies(): Promise<DeadLetterPolicy[]> {
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('dead_letter_policy').selectAll().orderBy('worker_id').execute(),
    );
    return rows.map(policyFromRow);
  }

  async savePolicy(policy: DeadLetterPolicy, now: number): Promise<void> {
    const values = {
      enabled: policy.enabled ? (1 as const) : (0 as const),
      extra_statuses: [...new Set(policy.extraStatuses)].sort((a, b) => a - b).join(','),
      updated_at: now,
    };
    // update first, insert when there was nothing to update; a racing insert loses with a duplicate and updates
    await withDbErrors(this.errors, async () => {
      const updated = await this.db
        .updateTable('dead_letter_policy')
        .set(values)
        .where('worker_id', '=', policy.workerId)
        .executeTakeFirst();
      if (updated.numUpdatedRows > 0n) return;
      const existing = await this.db
        .selectFrom('dead_letter_policy')
        .select('worker_id')
        .where('worker_id', '=', policy.workerId)
        .executeTakeFirst();
      if (existing !== undefined) return; // MySQL counts an unchanged row as not updated
      await this.db
        .insertInto('dead_letter_policy')
        .values({ worker_id: policy.workerId, ...values })
        .execute();
    });
  }

  async deletePolicy(workerId: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('dead_letter_policy').where('worker_id', '=', workerId).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }
}

/** The filter as a where clause (all parts must hold; none = every row). */
function matching(eb: ExpressionBuilder<Database, 'dead_letter'>, f: DeadLetterFilter): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  if (f.workerId !== undefined) parts.push(eb('worker_id', '=', f.workerId));
  if (f.statuses !== undefined && f.statuses.length > 0) parts.push(eb('status', 'in', [...f.statuses]));
  if (f.diedFrom !== undefined) parts.push(eb('died_at', '>=', f.diedFrom));
  if (f.diedBefore !== undefined) parts.push(eb('died_at', '<', f.diedBefore));
  if (f.requeued !== undefined) parts.push(eb('requeued_job_id', f.requeued ? '<>' : '=', 0));
  return eb.and(parts);
}

function deadLetterFromRow(row: Selectable<DeadLetterTable>): DeadLetter {
  const requeuedJobId = toSafeInteger(row.requeued_job_id, 'dead_letter.requeued_job_id');
  const requeuedAt = toSafeInteger(row.requeued_at, 'dead_letter.requeued_at');
  let output: Buffer[];
  try {
    output = ResultOutput.decode(row.output).items;
  } catch (cause) {
    throw new InternalError('column dead_letter.output does not hold a ResultOutput message', { cause });
  }
  return {
    id: toSafeInteger(row.id, 'dead_letter.id'),
    jobId: toSafeInteger(row.job_id, 'dead_letter.job_id'),
    workerId: toSafeInteger(row.worker_id, 'dead_letter.worker_id'),
    workerName: row.worker_name,
    args: row.args,
    uniqKey: row.uniq_key ?? undefined,
    priority: row.priority as Priority,
    timeout: toSafeInteger(row.timeout, 'dead_letter.timeout'),
    enqueueTime: toSafeInteger(row.enqueue_time, 'dead_letter.enqueue_time'),
    runAfterTime: toSafeInteger(row.run_after_time, 'dead_letter.run_after_time'),
    retried: row.retried,
    maxRetry: row.max_retry,
    status: row.status as ResultStatus,
    output,
    startTime: toSafeInteger(row.start_time, 'dead_letter.start_time'),
    endTime: toSafeInteger(row.end_time, 'dead_letter.end_time'),
    diedAt: toSafeInteger(row.died_at, 'dead_letter.died_at'),
    requeuedJobId: requeuedJobId === 0 ? undefined : requeuedJobId,
    requeuedAt: requeuedJobId === 0 ? undefined : requeuedAt,
  };
}

function policyFromRow(row: Selectable<DeadLetterPolicyTable>): DeadLetterPolicy {
  return {
    workerId: toSafeInteger(row.worker_id, 'dead_letter_policy.worker_id'),
    enabled: row.enabled !== 0,
    extraStatuses:
      row.extra_statuses === ''
        ? []
        : row.extra_statuses.split(',').map((s) => {
            const n = Number(s);
            if (!Number.isInteger(n) || ResultStatus[n] === undefined) {
              throw new InternalError(`column dead_letter_policy.extra_statuses holds "${row.extra_statuses}"`);
            }
            return n as ResultStatus;
          }),
  };
}
