/**
 * The lines of the comparison table: one measure each, our figure next to BullMQ's. BullMQ has one deployment
 * shape, so its figures stand against both our Scalable and our Standalone lines.
 */
import type { BenchResults } from './bench-results.js';
import type { Mode } from './jobworkerp-scenarios.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import type { ThroughputFigures } from './measure-throughput.js';

export interface ReportRow {
  readonly measure: string;
  readonly unit: 'jobs/s' | 'ms' | 'MiB';
  /** which way is better for this measure */
  readonly better: 'higher' | 'lower';
  readonly ours: number | undefined;
  readonly bullmq: number | undefined;
}

/** Every measure of the table, in order (the smoke test checks each one is printed). */
export const MEASURES = [
  'Scalable: enqueue rate',
  'Scalable: end-to-end throughput',
  'Scalable: enqueue→completion p50',
  'Scalable: enqueue→completion p99',
  'Standalone: enqueue rate',
  'Standalone: end-to-end throughput',
  'Standalone: enqueue→completion p50',
  'Standalone: enqueue→completion p99',
  'Scalable, EnqueueBatch vs addBulk: enqueue rate',
  'Scalable, EnqueueBatch vs addBulk: end-to-end throughput',
  'Standalone, EnqueueBatch vs addBulk: enqueue rate',
  'Standalone, EnqueueBatch vs addBulk: end-to-end throughput',
  'Scalable: CPU time per job, all processes',
  'Standalone: CPU time per job, all processes',
  'Scalable: worker process CPU time per job',
  'Scalable, EnqueueBatch vs addBulk: worker process CPU time per job',
  'DIRECT round trip, Scalable: p50',
  'DIRECT round trip, Scalable: p99',
  'DIRECT round trip, Standalone: p50',
  'DIRECT round trip, Standalone: p99',
  'Peak RSS: Scalable worker process',
  'Peak RSS: Standalone all-in-one process',
  'Redis memory per 100,000 queued jobs: used_memory growth',
  'Redis memory per 100,000 queued jobs: sum of the run’s keys',
] as const;

/** Measures of the backlog scenario, present only when it ran (--backlog-jobs), after the others. */
export const BACKLOG_MEASURES = [
  'Backlog: Redis used_memory growth per 100,000 queued jobs',
  'Backlog: worker peak RSS while draining',
  'Backlog: drain rate',
] as const;

export type Measure = (typeof MEASURES)[number] | (typeof BACKLOG_MEASURES)[number];

/** A figure of ours with no BullMQ counterpart, shown apart for information. */
export interface InfoRow {
  readonly measure: string;
  readonly unit: ReportRow['unit'];
  readonly value: number | undefined;
}

const MIB = 2 ** 20;
const mib = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : bytes / MIB);

export function reportRows(r: BenchResults): ReportRow[] {
  const { scalable, standalone, bullmq, backlog } = r;
  const rss = bullmq.workerPeakRssBytes;
  const memory = bullmq.queuedMemory;
  const bullmqCpu = bullmq.throughput.cpuMsPerJob;
  const batch = (mode: Mode, ours: ThroughputFigures): ReportRow[] => [
    row(
      `${mode}, EnqueueBatch vs addBulk: enqueue rate`,
      'jobs/s',
      'higher',
      ours.enqueuePerSecond,
      bullmq.batch.throughput.enqueuePerSecond,
    ),
    row(
      `${mode}, EnqueueBatch vs addBulk: end-to-end throughput`,
      'jobs/s',
      'higher',
      ours.endToEndPerSecond,
      bullmq.batch.throughput.endToEndPerSecond,
    ),
  ];
  return [
    ...throughputRows('Scalable', scalable.throughput, bullmq.throughput),
    ...throughputRows('Standalone', standalone.throughput, bullmq.throughput),
    ...batch('Scalable', scalable.batch.throughput),
    ...batch('Standalone', standalone.batch.throughput),
    row('Scalable: CPU time per job, all processes', 'ms', 'lower', scalable.throughput.cpuMsPerJob, bullmqCpu),
    row('Standalone: CPU time per job, all processes', 'ms', 'lower', standalone.throughput.cpuMsPerJob, bullmqCpu),
    row(
      'Scalable: worker process CPU time per job',
      'ms',
      'lower',
      scalable.workerCpuMsPerJob,
      bullmq.workerCpuMsPerJob,
    ),
    row(
      'Scalable, EnqueueBatch vs addBulk: worker process CPU time per job',
      'ms',
      'lower',
      scalable.batch.workerCpuMsPerJob,
      bullmq.batch.workerCpuMsPerJob,
    ),
    ...roundTripRows('Scalable', scalable.direct, bullmq.direct),
    ...roundTripRows('Standalone', standalone.direct, bullmq.direct),
    row('Peak RSS: Scalable worker process', 'MiB', 'lower', mib(scalable.workerPeakRssBytes), mib(rss)),
    row('Peak RSS: Standalone all-in-one process', 'MiB', 'lower', mib(standalone.allInOnePeakRssBytes), mib(rss)),
    row(
      'Redis memory per 100,000 queued jobs: used_memory growth',
      'MiB',
      'lower',
      mib(scalable.queuedMemory.usedMemoryBytesPer100k),
      mib(memory.usedMemoryBytesPer100k),
    ),
    row(
      'Redis memory per 100,000 queued jobs: sum of the run’s keys',
      'MiB',
      'lower',
      mib(scalable.queuedMemory.keyBytesPer100k),
      mib(memory.keyBytesPer100k),
    ),
    ...(backlog === undefined
      ? []
      : [
          row(
            'Backlog: Redis used_memory growth per 100,000 queued jobs',
            'MiB',
            'lower',
            mib(backlog.ours.memory.usedMemoryBytesPer100k),
            mib(backlog.bullmq.memory.usedMemoryBytesPer100k),
          ),
          row(
            'Backlog: worker peak RSS while draining',
            'MiB',
            'lower',
            mib(backlog.ours.workerPeakRssBytes),
            mib(backlog.bullmq.workerPeakRssBytes),
          ),
          row(
            'Backlog: drain rate',
            'jobs/s',
            'higher',
            backlog.ours.jobs / backlog.ours.drainSeconds,
            backlog.bullmq.jobs / backlog.bullmq.drainSeconds,
          ),
        ]),
  ];
}

/** Our Scalable figures on other workers: COMMAND `true`, and the echo plugin storing every success. */
export function infoRows(r: BenchResults): InfoRow[] {
  const { command, storeSuccess } = r.info;
  return [
    ...metricsCostRows(r.metricsCost),
    {
      measure: 'Scalable, COMMAND runner (`true`): end-to-end throughput',
      unit: 'jobs/s',
      value: command.throughput.endToEndPerSecond,
    },
    {
      measure: 'Scalable, COMMAND runner (`true`): CPU time per job, all processes',
      unit: 'ms',
      value: command.throughput.cpuMsPerJob,
    },
    {
      measure: 'Scalable, COMMAND runner (`true`): worker process CPU time per job',
      unit: 'ms',
      value: command.workerCpuMsPerJob,
    },
    {
      measure: 'Scalable, store_success=true: end-to-end throughput',
      unit: 'jobs/s',
      value: storeSuccess.throughput.endToEndPerSecond,
    },
    {
      measure: 'Scalable, store_success=true: CPU time per job, all processes',
      unit: 'ms',
      value: storeSuccess.throughput.cpuMsPerJob,
    },
    {
      measure: 'Scalable, store_success=true: worker process CPU time per job',
      unit: 'ms',
      value: storeSuccess.workerCpuMsPerJob,
    },
  ];
}

/** The metrics-cost scenario: each figure with METRICS_ADDR off and on, and the worker's and front's difference. */
export function metricsCostRows(cost: BenchResults['metricsCost']): InfoRow[] {
  const diff = (on: number | undefined, off: number | undefined): number | undefined =>
    on === undefined || off === undefined ? undefined : on - off;
  const side = (name: 'off' | 'on'): InfoRow[] => {
    const r = cost[name];
    const label = `Scalable, METRICS_ADDR ${name}`;
    return [
      { measure: `${label}: end-to-end throughput`, unit: 'jobs/s', value: r.throughput.endToEndPerSecond },
      { measure: `${label}: CPU time per job, all processes`, unit: 'ms', value: r.throughput.cpuMsPerJob },
      { measure: `${label}: worker process CPU time per job`, unit: 'ms', value: r.workerCpuMsPerJob },
      { measure: `${label}: grpc-front process CPU time per job`, unit: 'ms', value: r.frontCpuMsPerJob },
    ];
  };
  return [
    ...side('off'),
    ...side('on'),
    {
      measure: 'Scalable, metrics cost (on − off): worker process CPU time per job',
      unit: 'ms',
      value: diff(cost.on.workerCpuMsPerJob, cost.off.workerCpuMsPerJob),
    },
    {
      measure: 'Scalable, metrics cost (on − off): grpc-front process CPU time per job',
      unit: 'ms',
      value: diff(cost.on.frontCpuMsPerJob, cost.off.frontCpuMsPerJob),
    },
  ];
}

function throughputRows(mode: Mode, ours: ThroughputFigures, theirs: ThroughputFigures): ReportRow[] {
  return [
    row(`${mode}: enqueue rate`, 'jobs/s', 'higher', ours.enqueuePerSecond, theirs.enqueuePerSecond),
    row(`${mode}: end-to-end throughput`, 'jobs/s', 'higher', ours.endToEndPerSecond, theirs.endToEndPerSecond),
    row(`${mode}: enqueue→completion p50`, 'ms', 'lower', ours.p50Ms, theirs.p50Ms),
    row(`${mode}: enqueue→completion p99`, 'ms', 'lower', ours.p99Ms, theirs.p99Ms),
  ];
}

function roundTripRows(mode: Mode, ours: RoundTripFigures, theirs: RoundTripFigures): ReportRow[] {
  return [
    row(`DIRECT round trip, ${mode}: p50`, 'ms', 'lower', ours.p50Ms, theirs.p50Ms),
    row(`DIRECT round trip, ${mode}: p99`, 'ms', 'lower', ours.p99Ms, theirs.p99Ms),
  ];
}

function row(
  measure: Measure,
  unit: ReportRow['unit'],
  better: ReportRow['better'],
  ours: number | undefined,
  bullmq: number | undefined,
): ReportRow {
  return { measure, unit, better, ours, bullmq };
}
