import { cellText } from './cell-text.js';
import type { CliRecord } from './cli-record.js';

/** Records as an aligned table: a header of the upper-cased column keys, then one line per record. */
export function renderTable(records: readonly CliRecord[], columns: readonly string[]): string {
  const rows = [
    columns.map((c) => c.toUpperCase()),
    ...records.map((r) => columns.map((c) => cellText(r[c] ?? null, false))),
  ];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => width(row[i]!))));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell + ' '.repeat(widths[i]! - width(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Display width in code points (enough for the text this prints). */
export function width(text: string): number {
  return [...text].length;
}
