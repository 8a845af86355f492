#!/usr/bin/env node
/**
 * `npm run bench`: measures jobworkerp-ts (Scalable and Standalone) and BullMQ on this machine and the same Redis,
 * prints the comparison as a markdown table and writes every figure to <results dir>/<start time>.json.
 * Flags: `npm run bench -- --help`. Progress goes to stderr, the table to stdout.
 */
import { DEFAULT_RESULTS_DIR } from './bench-paths.js';
import { parseBenchOptions } from './bench-options.js';
import { machineLine, renderCronTable, renderInfoTable, renderReport } from './render-report.js';
import { writeReportFile } from './report-file.js';
import { runBench, runCronTicks, runMetricsCost } from './run-bench.js';

const options = parseBenchOptions(process.argv, DEFAULT_RESULTS_DIR);
const progress = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
try {
  if (options.onlyMetricsCost) {
    // one scenario: its table only, no result file
    const { rows, machine, seconds } = await runMetricsCost(options, progress);
    process.stdout.write(`${renderInfoTable(rows)}\n${machineLine(machine)}\n`);
    process.stdout.write(`Run: ${options.jobs} jobs per side, took ${Math.round(seconds)} s.\n`);
  } else if (options.onlyCronTicks) {
    const { figures, machine, seconds } = await runCronTicks(options, progress);
    process.stdout.write(`${renderCronTable(figures)}\n${machineLine(machine)}\n`);
    process.stdout.write(`Run: ${options.cronTicks} ticks per mode, took ${Math.round(seconds)} s.\n`);
  } else {
    const report = await runBench(options, progress);
    const file = writeReportFile(report, options.resultsDir);
    process.stdout.write(`${renderReport(report)}\nResults written to ${file}\n`);
  }
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
