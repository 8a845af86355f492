import type { Kysely } from 'kysely';
import type { Page, Schedule, ScheduleOrigin, ScheduleSpec } from '../../core/src/index.js';
import { InternalError, quote } from '../../core/src/index.js';
import type { DbErrorContext, DescribeClash } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import { checkLimit, normalizePage } from './paging.js';
import type { DueSchedule, FiringLease, ScheduleRepository, TickClaim } from './ports.js';
import { firingLeaseFromRow, scheduleFromRow, scheduleSpecToRow, toSafeInteger } from './row-mapping.js';
import type { Database } from './schema.js';

const ORIGIN_CODES: Record<ScheduleOrigin, number> = { api: 0, file: 1 };

/** Schedules in the `schedule` table. */
export class KyselyScheduleRepository implements ScheduleRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async create(spec: ScheduleSpec, nextTickTime: number): Promise<Schedule> {
    const now = Date.now();
    const result = await withDbErrors(
      this.errors,
      () =>
        this.db
          .insertInto('schedule')
          .values({
            ...scheduleSpecToRow(spec),
            next_tick_time: nextTickTime,
            last_tick_time: 0,
            last_job_id: null,
            created_at: now,
            updated_at: now,
          })
          .executeTakeFirstOrThrow(),
      clashOf(spec),
    );
    if (result.insertId === undefined) throw new InternalError('the database did not return the new schedule id');
    const id = toSafeInteger(result.insertId, 'schedule.id');
    return { ...spec, id, nextTickTime, lastTickTime: 0, lastJobId: undefined };
  }

  async update(id: number, spec: ScheduleSpec, nextTickTime: number): Promise<boolean> {
    const result = await withDbErrors(
      this.errors,
      () =>
        this.db
          .updateTable('schedule')
          .set({ ...scheduleSpecToRow(spec), next_tick_time: nextTickTime, updated_at: Date.now() })
          .where('id', '=', id)
          .executeTakeFirst(),
      clashOf(spec),
    );
    return result.numUpdatedRows > 0n;
  }

  async delete(id: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db.deleteFrom('schedule').where('id', '=', id).executeTakeFirst(),
    );
    return result.numDeletedRows > 0n;
  }

  async find(id: number): Promise<Schedule | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('schedule').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && scheduleFromRow(row);
  }

  async findByName(name: string): Promise<Schedule | undefined> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('schedule').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && scheduleFromRow(row);
  }

  async list(page?: Page): Promise<Schedule[]> {
    const { limit, offset } = normalizePage(page);
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('schedule').selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    );
    return rows.map(scheduleFromRow);
  }

  async listByOrigin(origin: ScheduleOrigin): Promise<Schedule[]> {
    const rows = await withDbErrors(this.errors, () =>
      this.db.selectFrom('schedule').selectAll().where('origin', '=', ORIGIN_CODES[origin]).orderBy('id').execute(),
    );
    return rows.map(scheduleFromRow);
  }

  async count(): Promise<number> {
    const row = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('schedule')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow(),
    );
    return toSafeInteger(row.n, 'count(*)');
  }

  async findDue(dueBefore: number, limit: number): Promise<DueSchedule[]> {
    const max = checkLimit(limit, 'limit');
    const rows = await withDbErrors(this.errors, () =>
      this.db
        .selectFrom('schedule')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('next_tick_time', '>', 0), eb('next_tick_time', '<=', dueBefore)]),
            eb.and([eb('firing_until', '>', 0), eb('firing_until', '<=', dueBefore)]),
          ]),
        )
        .orderBy('next_tick_time')
        .orderBy('id')
        .limit(max)
        .execute(),
    );
    return rows.map((row) => ({ ...scheduleFromRow(row), firing: firingLeaseFromRow(row) }));
  }

  async claimTick(claim: TickClaim): Promise<boolean> {
    const lease = claim.jobId !== undefined && claim.firingUntil !== undefined;
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('schedule')
        .set({
          next_tick_time: claim.nextTickTime,
          last_tick_time: claim.tickTime,
          ...(claim.jobId === undefined ? {} : { last_job_id: claim.jobId }),
          ...(lease
            ? { firing_job_id: claim.jobId, firing_tick_time: claim.tickTime, firing_until: claim.firingUntil }
            : {}),
        })
        .where('id', '=', claim.id)
        .where('next_tick_time', '=', claim.expectedNextTickTime)
        .where('firing_until', '=', 0)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async takeOverFiring(id: number, lease: FiringLease, until: number): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('schedule')
        .set({ firing_until: until })
        .where('id', '=', id)
        .where('firing_job_id', '=', lease.jobId)
        .where('firing_until', '=', lease.until)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }

  async clearFiring(id: number, lease: FiringLease): Promise<boolean> {
    const result = await withDbErrors(this.errors, () =>
      this.db
        .updateTable('schedule')
        .set({ firing_job_id: null, firing_tick_time: 0, firing_until: 0 })
        .where('id', '=', id)
        .where('firing_job_id', '=', lease.jobId)
        .where('firing_until', '=', lease.until)
        .executeTakeFirst(),
    );
    return result.numUpdatedRows === 1n;
  }
}

function clashOf(spec: ScheduleSpec): DescribeClash {
  return (column) =>
    column === 'name'
      ? `a schedule named ${quote(spec.name)} already exists; pick another name`
      : `a schedule with the same ${column} already exists`;
}
