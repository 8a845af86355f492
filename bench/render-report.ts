/** The report as markdown: the comparison table, then the machine and the run's settings. */
import type { BenchReport } from './bench-report.js';
import type { BenchResults } from './bench-results.js';
import type { MachineInfo } from './machine-info.js';
import type { InfoRow, ReportRow } from './report-rows.js';

export function renderReport(report: BenchReport): string {
  const { machine: m, options: o } = report;
  const lines = [
    `| measure | jobworkerp-ts | BullMQ ${m.bullmq} | ours ÷ BullMQ | better |`,
    '|---|---:|---:|---:|---|',
    ...report.rows.map(renderRow),
    '',
    'For information (jobworkerp-ts only):',
    '',
    renderInfoTable(report.info),
    ...(report.results.cronTicks === undefined ? [] : [renderCronTable(report.results.cronTicks)]),
    machineLine(m),
    `Run: ${o.jobs} jobs per throughput scenario, ${o.concurrency} enqueue calls in flight, worker concurrency ` +
      `${o.workerConcurrency}, ${o.warmupJobs} warm-up jobs, ${o.directJobs} DIRECT round trips, ` +
      `${o.memoryJobs} queued jobs for memory, batches of ${o.batchSize}, ${o.infoJobs} jobs per information ` +
      `scenario, ${o.cronTicks === 0 ? 'no cron ticks' : `${o.cronTicks} cron ticks per mode`}, ${o.backlogJobs === 0 ? 'no backlog scenario' : `a backlog of ${o.backlogJobs} jobs`}; started ${report.startedAt}, took ${Math.round(report.seconds)} s.`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Our figures without a BullMQ counterpart, as a table. */
export function renderInfoTable(rows: readonly InfoRow[]): string {
  return ['| measure | jobworkerp-ts |', '|---|---:|', ...rows.map(renderInfoRow), ''].join('\n');
}

/** The cron-ticks scenario: how long after its second each mode's ticks were enqueued and started. */
export function renderCronTable(cron: NonNullable<BenchResults['cronTicks']>): string {
  const rows = (mode: string, f: (typeof cron)['standalone']): string[] => [
    `| ${mode}: job enqueued | ${f.ticks} | ${f.enqueued.p50Ms} | ${f.enqueued.p99Ms} | ${f.enqueued.maxMs} |`,
    `| ${mode}: job started | ${f.ticks} | ${f.started.p50Ms} | ${f.started.p99Ms} | ${f.started.maxMs} |`,
  ];
  return [
    'Cron ticks (jobworkerp-ts only), ms after the tick’s second:',
    '',
    '| cron tick | ticks | p50 | p99 | max |',
    '|---|---:|---:|---:|---:|',
    ...rows('Standalone', cron.standalone),
    ...rows('Scalable', cron.scalable),
    '',
  ].join('\n');
}

export function machineLine(m: MachineInfo): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, Redis ${m.redis}, ` +
    `MariaDB ${m.mariadb}, BullMQ ${m.bullmq}; load average at start ${m.loadAverageAtStart.join(' / ')}.`
  );
}

function renderRow(row: ReportRow): string {
  const ratio =
    row.ours !== undefined && row.bullmq !== undefined && row.bullmq !== 0 ? row.ours / row.bullmq : undefined;
  const cells = [
    `${row.measure} (${row.unit}, ${row.better} is better)`,
    figure(row.ours, row.unit),
    figure(row.bullmq, row.unit),
    ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}×`,
    winner(row),
  ];
  return `| ${cells.join(' | ')} |`;
}

function renderInfoRow(row: InfoRow): string {
  return `| ${row.measure} (${row.unit}) | ${figure(row.value, row.unit)} |`;
}

function figure(value: number | undefined, unit: ReportRow['unit']): string {
  if (value === undefined) return 'n/a';
  if (unit === 'jobs/s') return Math.round(value).toLocaleString('en-US');
  if (unit === 'ms') return value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1);
  return value.toFixed(1);
}

function winner(row: ReportRow): string {
  if (row.ours === undefined || row.bullmq === undefined) return 'n/a';
  if (row.ours === row.bullmq) return 'tie';
  const oursBetter = row.better === 'higher' ? row.ours > row.bullmq : row.ours < row.bullmq;
  return oursBetter ? 'jobworkerp-ts' : 'BullMQ';
}
