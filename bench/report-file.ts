/** Writes a run's report as JSON to <dir>/<start time>.json and returns the file's path. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport } from './bench-report.js';

export function writeReportFile(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  // 2026-11-23T19:55:07.454Z → 2026-11-23T19-55-07Z: no colons in file names
  const stamp = report.startedAt.replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
