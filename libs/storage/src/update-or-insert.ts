import { duplicateColumn } from './db-errors.js';

/**
 * Upsert by primary key that works the same on both backends: update the row with the id, else insert it.
 * (MySQL's ON DUPLICATE KEY UPDATE fires on any unique key, so an upsert whose uniq_key or name belongs to another
 * row would overwrite that row; here such a clash surfaces as a duplicate-key error instead.) If another writer
 * inserts the same id between the two statements, the insert fails on the primary key and the update is retried.
 *
 * @param update returns whether a row was updated
 */
export async function updateOrInsert(update: () => Promise<boolean>, insert: () => Promise<void>): Promise<void> {
  if (await update()) return;
  try {
    await insert();
  } catch (err) {
    if (duplicateColumn(err) !== 'id' || !(await update())) throw err;
  }
}
