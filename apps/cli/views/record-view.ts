import type { CliRecord } from '../cli-record.js';
import type { Lookups } from '../../../libs/client/src/index.js';

/** How one kind of message is printed: its record (every field) and the columns of its table. */
export interface RecordView<T> {
  readonly columns: readonly string[];
  record(message: T, lookups: Lookups): Promise<CliRecord>;
}
