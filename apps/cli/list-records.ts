import type { CallOptions, ClientReadableStream, Metadata } from '@grpc/grpc-js';
import type { CliRecord } from './cli-record.js';
import type { CliSession } from './cli-session.js';
import type { RecordView } from './views/record-view.js';

/** Runs a FindList-style server stream and prints its messages as a table (or JSON lines). */
export async function listRecords<T>(
  session: CliSession,
  start: (metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<T>,
  view: RecordView<T>,
): Promise<void> {
  const records: CliRecord[] = [];
  await session.conn.stream(start, async (message) => void records.push(await view.record(message, session.lookups)));
  session.print.list(records, view.columns);
}
