/**
 * The Prometheus metrics of a process (prom-client), fed by the observers the libs offer: the job lifecycle's
 * JobEvents, the queue's lapsed-lease count, the gRPC handlers' call observer, and the Redis and RDB error callbacks.
 * Served by metrics-endpoint.ts when METRICS_ADDR is set (docs/metrics.md lists every metric).
 *
 * Cost: an event is one Map lookup (the labelled child, cached per label set) and one add; nothing is read or sent
 * per job. Labels stay bounded: workers and channels by name, at most MAX_LABEL_VALUES distinct names per label (more
 * fold into "(other)"), gRPC methods and codes from fixed sets, never a job id.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Counter, Histogram } from 'prom-client';
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge,
  Histogram as PromHistogram,
  Registry,
} from 'prom-client';
import type { Logger } from '../../libs/core/src/index.js';
import { ResultStatus } from '../../libs/core/src/index.js';
import type { GrpcCallObserver } from '../../libs/front/src/index.js';
import type { JobEvents } from '../../libs/jobs/src/index.js';
import type { DbErrorKind } from '../../libs/storage/src/index.js';

/** Waiting and running (claimed) jobs of one channel, as the queue counts them. */
export interface ChannelStats {
  readonly channel: string;
  readonly waiting: number;
  readonly running: number;
}

export type ChannelStatsSource = () => Promise<ReadonlyArray<ChannelStats>>;

/** How many distinct names one label keeps; later names are counted as "(other)". */
export const MAX_LABEL_VALUES = 200;
/** The label of names beyond MAX_LABEL_VALUES. */
export const OTHER_LABEL = '(other)';
/** The worker label of a job whose worker no longer exists. */
export const DELETED_WORKER_LABEL = '(deleted)';

/** Seconds; a run of a no-op job takes well under a millisecond, a command may take minutes. */
const RUN_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
/** Seconds from due to start: a few ms while workers keep up, growing with the backlog. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface ProcessMetrics {
  readonly registry: Registry;
  /** for the JobLifecycle (JobLifecycleDeps.events) */
  readonly jobEvents: JobEvents;
  /** for the queue (onLeasesLapsed) */
  readonly leasesLapsed: (channel: string, count: number) => void;
  /** for the gRPC handlers (observeGrpcCalls) */
  readonly grpcCall: GrpcCallObserver;
  /** for the Redis connections (RedisConnectionOptions.onError) */
  readonly redisError: () => void;
  /** for the RDB (the storage options' onError) */
  readonly dbError: (kind: DbErrorKind) => void;
  /** Where the waiting/running gauges read their numbers at each scrape. */
  setChannelStats(source: ChannelStatsSource): void;
  /** The exposition text of every metric. */
  text(): Promise<string>;
}

/** Maps names to label values, keeping at most MAX_LABEL_VALUES distinct ones. */
class BoundedLabel {
  private readonly kept = new Set<string>();

  constructor(private readonly max = MAX_LABEL_VALUES) {}

  of(name: string): string {
    if (this.kept.has(name)) return name;
    if (this.kept.size >= this.max) return OTHER_LABEL;
    this.kept.add(name);
    return name;
  }
}

/** The children of a labelled metric, cached per label set: a labels() call hashes its labels each time. */
function children<M>(make: (...labels: string[]) => M): (...labels: string[]) => M {
  const cache = new Map<string, M>();
  return (...labels) => {
    const key = labels.join('\u0000');
    let child = cache.get(key);
    if (child === undefined) cache.set(key, (child = make(...labels)));
    return child;
  };
}

const statusName = (status: ResultStatus): string => ResultStatus[status] ?? String(status);
const codeName = (code: GrpcStatus): string => GrpcStatus[code] ?? String(code);

export function createProcessMetrics(logger: Logger, options: { maxLabelValues?: number } = {}): ProcessMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const workers = new BoundedLabel(options.maxLabelValues);
  const channels = new BoundedLabel(options.maxLabelValues);
  const worker = (name: string | undefined): string => (name === undefined ? DELETED_WORKER_LABEL : workers.of(name));
  const counter = (name: string, help: string, labelNames: string[]): Counter<string> =>
    new PromCounter({ name, help, labelNames, registers: [registry] });
  const histogram = (name: string, help: string, buckets: number[]): Histogram<string> =>
    new PromHistogram({ name, help, labelNames: ['worker'], buckets, registers: [registry] });

  const enqueued = counter(
    'jobworkerp_jobs_enqueued_total',
    'Jobs stored by Enqueue, next_workers, schedules and requeued dead letters.',
    ['worker', 'channel'],
  );
  const finished = counter('jobworkerp_jobs_finished_total', 'Jobs that ended with a final result, by result status.', [
    'worker',
    'status',
  ]);
  const retries = counter(
    'jobworkerp_job_retries_total',
    'Failed runs that will be retried (ERROR_AND_RETRY with retries left).',
    ['worker'],
  );
  const deadLetters = counter('jobworkerp_dead_letters_total', 'Final failures kept as dead letters.', ['worker']);
  const leaseExpiries = counter(
    'jobworkerp_lease_expiries_total',
    'Leases that ran out before their job ended; the queue took the job back.',
    ['channel'],
  );
  const redeliveries = counter(
    'jobworkerp_job_redeliveries_total',
    'Jobs put back to be delivered again: lease expiries and jobs given back at shutdown.',
    ['channel', 'reason'],
  );
  const leasesLost = counter('jobworkerp_leases_lost_total', 'Runs stopped because their lease was found lost.', [
    'worker',
  ]);
  const grpcCalls = counter(
    'jobworkerp_grpc_calls_total',
    'gRPC calls answered by the jobworkerp services, by method and status code.',
    ['method', 'code'],
  );
  const redisErrors = counter(
    'jobworkerp_redis_errors_total',
    'Redis calls that failed (connection lost, timeout, error reply).',
    [],
  );
  const dbErrors = counter('jobworkerp_db_errors_total', 'RDB operations that failed, by kind of error.', ['kind']);
  const runDuration = histogram(
    'jobworkerp_job_run_duration_seconds',
    'How long runs took, from run start to run end.',
    RUN_BUCKETS,
  );
  const startLatency = histogram(
    'jobworkerp_job_start_latency_seconds',
    'From when a job was due (enqueued, or its run_after_time) to the start of its run.',
    LATENCY_BUCKETS,
  );

  let channelStats: ChannelStatsSource = async () => [];
  // the two gauges share one read per scrape
  let reading: Promise<ReadonlyArray<ChannelStats>> | undefined;
  const readStats = (): Promise<ReadonlyArray<ChannelStats>> =>
    (reading ??= channelStats()
      .catch((err: unknown) => {
        logger.warn({ err }, "metrics: could not read the channels' waiting and running jobs");
        return [];
      })
      .finally(() => (reading = undefined)));
  const channelGauge = (name: string, help: string, pick: (s: ChannelStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['channel'],
      registers: [registry],
      async collect() {
        const stats = await readStats();
        this.reset();
        for (const s of stats) this.set({ channel: channels.of(s.channel) }, pick(s));
      },
    });
  };
  channelGauge('jobworkerp_jobs_waiting', 'Jobs waiting in the queue, per channel.', (s) => s.waiting);
  channelGauge(
    'jobworkerp_jobs_running',
    'Jobs claimed from the queue (running or finishing), per channel.',
    (s) => s.running,
  );

  const enqueuedOf = children((w, c) => enqueued.labels(w, c));
  const finishedOf = children((w, s) => finished.labels(w, s));
  const retriesOf = children((w) => retries.labels(w));
  const deadLettersOf = children((w) => deadLetters.labels(w));
  const leasesLostOf = children((w) => leasesLost.labels(w));
  const runOf = children((w) => runDuration.labels(w));
  const latencyOf = children((w) => startLatency.labels(w));
  const grpcOf = children((m, c) => grpcCalls.labels(m, c));

  const jobEvents: JobEvents = {
    onEnqueued: (w, channel) => enqueuedOf(worker(w), channels.of(channel)).inc(),
    onStarted: (w, latencyMs) => latencyOf(worker(w)).observe(latencyMs / 1000),
    onRunEnded: (w, durationMs) => runOf(worker(w)).observe(durationMs / 1000),
    onRetry: (w) => retriesOf(worker(w)).inc(),
    onFinished: (w, status) => finishedOf(worker(w), statusName(status)).inc(),
    onDeadLetter: (w) => deadLettersOf(worker(w)).inc(),
    onGivenBack: (channel) => redeliveries.inc({ channel: channels.of(channel), reason: 'given_back' }),
    onLeaseLost: (w) => leasesLostOf(worker(w)).inc(),
  };

  return {
    registry,
    jobEvents,
    leasesLapsed: (channel, count) => {
      const label = channels.of(channel);
      leaseExpiries.inc({ channel: label }, count);
      redeliveries.inc({ channel: label, reason: 'lease_expired' }, count);
    },
    // method names come from the services' code (a fixed set), codes from grpc's
    grpcCall: (method, code) => grpcOf(method, codeName(code)).inc(),
    redisError: () => redisErrors.inc(),
    dbError: (kind) => dbErrors.inc({ kind }),
    setChannelStats: (source) => {
      channelStats = source;
    },
    text: () => registry.metrics(),
  };
}
