import type { CliRecord } from './cli-record.js';
import { renderCard } from './render-card.js';
import { renderTable } from './render-table.js';

/** `--format`: aligned tables for people, one JSON object per line for scripts. */
export type OutputFormat = 'table' | 'json';

/** Prints records on stdout in the chosen format. */
export class Printer {
  private printedItem = false;

  constructor(
    readonly format: OutputFormat,
    private readonly write: (text: string) => void,
  ) {}

  /** One record: a `key  value` card, or one JSON line. */
  one(record: CliRecord): void {
    this.write(`${this.format === 'json' ? JSON.stringify(record) : renderCard(record)}\n`);
  }

  /** One record on one line: its JSON, or `text` for people. */
  line(record: CliRecord, text: string): void {
    this.write(`${this.format === 'json' ? JSON.stringify(record) : text}\n`);
  }

  /** Many records: a table of `columns` (JSON lines carry every field). */
  list(records: readonly CliRecord[], columns: readonly string[]): void {
    if (this.format === 'json') {
      for (const r of records) this.write(`${JSON.stringify(r)}\n`);
    } else {
      this.write(`${renderTable(records, columns)}\n`);
    }
  }

  /** Text as it is (a command that lays out its own output, like sys-info). */
  raw(text: string): void {
    this.write(text);
  }

  /** A record of a stream that has no end (results as they come): cards separated by a blank line. */
  item(record: CliRecord): void {
    if (this.format === 'table' && this.printedItem) this.write('\n');
    this.printedItem = true;
    this.one(record);
  }
}
