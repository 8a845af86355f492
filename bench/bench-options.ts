/**
 * The benchmark's command-line flags, parsed once into an immutable BenchOptions. Every size and concurrency of the
 * run is a flag, so the smoke test can run the same code with tiny numbers.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';

/** Where MariaDB is; the harness creates one database per run there and drops it at the end. */
export interface MariaDbServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
}

export interface BenchOptions {
  /** jobs of each throughput scenario. @default 20000 */
  readonly jobs: number;
  /** enqueue calls (or BullMQ `add`s) in flight at once. @default 64 */
  readonly concurrency: number;
  /** jobs one worker process runs at once (our channel concurrency, BullMQ Worker concurrency). @default 32 */
  readonly workerConcurrency: number;
  /** jobs run before each measured phase, to warm up JIT and connections; not counted. @default 1000 */
  readonly warmupJobs: number;
  /** sequential DIRECT round trips measured. @default 2000 */
  readonly directJobs: number;
  /** jobs queued (no worker running) to measure Redis memory; reported per 100,000. @default 100000 */
  readonly memoryJobs: number;
  /** jobs per batch call of the batch scenarios (our EnqueueBatch, BullMQ addBulk). @default 100 */
  readonly batchSize: number;
  /** jobs of each "for information" scenario (COMMAND `true`, store_success=true). @default a tenth of `jobs` */
  readonly infoJobs: number;
  /** jobs of the backlog scenario (queued, then drained by one worker); 0 = not run. @default 0 */
  readonly backlogJobs: number;
  /** folder the JSON result file is written to. @default bench/results */
  readonly resultsDir: string;
  /** @default redis://127.0.0.1:6379 */
  readonly redisUrl: string;
  readonly mariadb: MariaDbServer;
  /** when set, our front, worker and all-in-one processes write V8 CPU profiles (.cpuprofile) here */
  readonly cpuProfDir: string | undefined;
  /** longest wait for one phase (all results of a throughput run, one round trip), ms. @default 300000 */
  readonly phaseTimeoutMs: number;
  /** run only the metrics-cost scenario (Scalable throughput with METRICS_ADDR off, then on). @default false */
  readonly onlyMetricsCost: boolean;
  /** ticks of the every-second schedule measured per mode in the cron-ticks scenario; 0 = not run. @default 5 */
  readonly cronTicks: number;
  /** run only the cron-ticks scenario. @default false */
  readonly onlyCronTicks: boolean;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
};

const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got "${value}"`);
  return n;
};

/** Parses process.argv-style arguments (node, script, flags...). Exits with a usage message on a bad flag. */
export function parseBenchOptions(argv: readonly string[], defaultResultsDir: string): BenchOptions {
  const program = new Command('bench')
    .description('jobworkerp-ts throughput, latency and memory, side by side with BullMQ on the same Redis')
    .option('--jobs <n>', 'jobs per throughput scenario', positiveInt, 20_000)
    .option('--concurrency <n>', 'enqueue calls / Queue.add calls in flight', positiveInt, 64)
    .option('--worker-concurrency <n>', 'jobs one worker process runs at once', positiveInt, 32)
    .option('--warmup-jobs <n>', 'unmeasured jobs before each measured phase', nonNegativeInt, 1000)
    .option('--direct-jobs <n>', 'sequential DIRECT round trips', positiveInt, 2000)
    .option('--memory-jobs <n>', 'jobs queued with no worker, to measure Redis memory', positiveInt, 100_000)
    .option('--batch-size <n>', 'jobs per EnqueueBatch / addBulk call in the batch scenarios', positiveInt, 100)
    .option(
      '--info-jobs <n>',
      'jobs of each "for information" scenario (COMMAND true, store_success); default: jobs / 10',
      positiveInt,
    )
    .option(
      '--backlog-jobs <n>',
      'queue this many jobs, then drain them with one worker (e.g. 1000000); 0 = skip',
      nonNegativeInt,
      0,
    )
    .option('--results-dir <dir>', 'folder for the JSON result file', defaultResultsDir)
    .option('--redis-url <url>', 'Redis shared by every scenario', 'redis://127.0.0.1:6379')
    .option('--mysql-host <host>', 'MariaDB/MySQL host (a database is created and dropped)', '127.0.0.1')
    .option('--mysql-port <n>', 'MariaDB/MySQL port', positiveInt, 3306)
    .option('--mysql-user <user>', 'MariaDB/MySQL user (needs CREATE/DROP DATABASE; no password)', 'root')
    .option('--cpu-prof-dir <dir>', 'write V8 CPU profiles of our processes to this folder')
    .option('--phase-timeout-ms <ms>', 'longest wait for one phase', positiveInt, 300_000)
    .option(
      '--only-metrics-cost',
      'run only the Scalable throughput scenario with METRICS_ADDR off, then on, and print the CPU per job of both',
      false,
    )
    .option(
      '--cron-ticks <n>',
      'ticks of an every-second schedule measured per mode (lag to enqueue and to start); 0 = skip',
      nonNegativeInt,
      5,
    )
    .option('--only-cron-ticks', 'run only the cron-ticks scenario and print its table', false)
    .parse(argv as string[]);
  const o = program.opts<{
    jobs: number;
    concurrency: number;
    workerConcurrency: number;
    warmupJobs: number;
    directJobs: number;
    memoryJobs: number;
    batchSize: number;
    infoJobs?: number;
    backlogJobs: number;
    resultsDir: string;
    redisUrl: string;
    mysqlHost: string;
    mysqlPort: number;
    mysqlUser: string;
    cpuProfDir?: string;
    phaseTimeoutMs: number;
    onlyMetricsCost: boolean;
    cronTicks: number;
    onlyCronTicks: boolean;
  }>();
  if (o.onlyCronTicks && o.cronTicks === 0) program.error('--only-cron-ticks needs --cron-ticks of 1 or more');
  if (o.onlyCronTicks && o.onlyMetricsCost)
    program.error('--only-cron-ticks and --only-metrics-cost exclude each other');
  return Object.freeze({
    jobs: o.jobs,
    concurrency: o.concurrency,
    workerConcurrency: o.workerConcurrency,
    warmupJobs: o.warmupJobs,
    directJobs: o.directJobs,
    memoryJobs: o.memoryJobs,
    batchSize: o.batchSize,
    infoJobs: o.infoJobs ?? Math.ceil(o.jobs / 10),
    backlogJobs: o.backlogJobs,
    resultsDir: resolve(o.resultsDir),
    redisUrl: o.redisUrl,
    mariadb: Object.freeze({ host: o.mysqlHost, port: o.mysqlPort, user: o.mysqlUser }),
    cpuProfDir: o.cpuProfDir === undefined ? undefined : resolve(o.cpuProfDir),
    phaseTimeoutMs: o.phaseTimeoutMs,
    onlyMetricsCost: o.onlyMetricsCost,
    cronTicks: o.cronTicks,
    onlyCronTicks: o.onlyCronTicks,
  });
}
