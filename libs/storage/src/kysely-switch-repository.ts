import type { Kysely } from 'kysely';
import type { DbErrorContext } from './db-errors.js';
import { withDbErrors } from './db-errors.js';
import type { SwitchRepository } from './ports.js';
import type { Database } from './schema.js';

/** Named on/off switches (migrations 009): a name without a row is off. */
export class KyselySwitchRepository implements SwitchRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly errors: DbErrorContext,
  ) {}

  async isOn(name: string): Promise<boolean> {
    const row = await withDbErrors(this.errors, () =>
      this.db.selectFrom('switch').select('is_on').where('name', '=', name).executeTakeFirst(),
    );
    return row !== undefined && Number(row.is_on) === 1;
  }

  async set(name: string, on: boolean, now: number): Promise<void> {
    const values = { is_on: on ? (1 as const) : (0 as const), updated_at: now };
    // update first, insert when there was nothing to update; a racing insert loses with a duplicate: update again
    await withDbErrors(this.errors, async () => {
      const updated = await this.db.updateTable('switch').set(values).where('name', '=', name).executeTakeFirst();
      if (updated.numUpdatedRows > 0n) return;
      const existing = await this.db.selectFrom('switch').select('name').where('name', '=', name).executeTakeFirst();
      if (existing !== undefined) return; // MySQL counts an unchanged row as not updated
      try {
        await this.db
          .insertInto('switch')
          .values({ name, ...values })
          .execute();
      } catch {
        await this.db.updateTable('switch').set(values).where('name', '=', name).execute();
      }
    });
  }
}
