/** Everything one run measured, by system and scenario (written as is to the JSON result file). */
import type { BacklogFigures } from './backlog.js';
import type { CronTickFigures } from './cron-ticks.js';
import type { RoundTripFigures } from './measure-round-trips.js';
import type { ThroughputFigures } from './measure-throughput.js';
import type { QueuedMemoryFigures } from './redis-memory.js';

/** A throughput run and what its job-running process spent. */
export interface ThroughputResult {
  readonly throughput: ThroughputFigures;
  /** CPU of the job-running process (worker, all-in-one, BullMQ's worker) during the measured phase, per job, ms */
  readonly workerCpuMsPerJob: number | undefined;
}

/** One side of the metrics-cost scenario. */
export interface MetricsCostResult extends ThroughputResult {
  /** CPU of the grpc-front during the measured phase, per job, ms */
  readonly frontCpuMsPerJob: number | undefined;
}

export interface BenchResults {
  readonly scalable: {
    readonly throughput: ThroughputFigures;
    /** the worker process, after the throughput run */
    readonly workerPeakRssBytes: number | undefined;
    readonly workerCpuMsPerJob: number | undefined;
    /** jobs enqueued with EnqueueBatch */
    readonly batch: ThroughputResult;
    readonly direct: RoundTripFigures;
    readonly queuedMemory: QueuedMemoryFigures;
  };
  readonly standalone: {
    readonly throughput: ThroughputFigures;
    /** the all-in-one process (front and worker in one), after the throughput run */
    readonly allInOnePeakRssBytes: number | undefined;
    /** jobs enqueued with EnqueueBatch */
    readonly batch: ThroughputResult;
    readonly direct: RoundTripFigures;
  };
  readonly bullmq: {
    readonly throughput: ThroughputFigures;
    /** the Worker's process, after the throughput run */
    readonly workerPeakRssBytes: number | undefined;
    readonly workerCpuMsPerJob: number | undefined;
    /** jobs added with addBulk */
    readonly batch: ThroughputResult;
    readonly direct: RoundTripFigures;
    readonly queuedMemory: QueuedMemoryFigures;
  };
  /** our Scalable deployment on other workers, for information (no BullMQ counterpart) */
  readonly info: {
    /** the COMMAND runner running `true` */
    readonly command: ThroughputResult;
    /** the echo plugin, storing every success in the database */
    readonly storeSuccess: ThroughputResult;
  };
  /** the Scalable throughput run with METRICS_ADDR off, then on: CPU per job of the worker and the front */
  readonly metricsCost: { readonly off: MetricsCostResult; readonly on: MetricsCostResult };
  /** how late cron ticks are enqueued and started, per mode; undefined with --cron-ticks 0 */
  readonly cronTicks: { readonly standalone: CronTickFigures; readonly scalable: CronTickFigures } | undefined;
  /** only when --backlog-jobs is set */
  readonly backlog: { readonly ours: BacklogFigures; readonly bullmq: BacklogFigures } | undefined;
}
