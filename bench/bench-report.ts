/** One run's report: what was run, on what, what it measured, and the comparison table's rows. */
import type { BenchOptions } from './bench-options.js';
import type { BenchResults } from './bench-results.js';
import type { MachineInfo } from './machine-info.js';
import type { InfoRow, ReportRow } from './report-rows.js';

export interface BenchReport {
  /** ISO time the run started */
  readonly startedAt: string;
  /** wall time of the whole run, seconds */
  readonly seconds: number;
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly results: BenchResults;
  readonly rows: readonly ReportRow[];
  /** our figures without a BullMQ counterpart */
  readonly info: readonly InfoRow[];
}
