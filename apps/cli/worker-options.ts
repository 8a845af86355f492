import type { Command } from 'commander';
import type { RetryPolicy, WorkerData } from '../../libs/proto/src/index.js';
import { QueueType, ResponseType, RetryType } from '../../libs/proto/src/index.js';
import type { CliSession } from './cli-session.js';
import { encodePayload } from '../../libs/client/src/index.js';
import { addAlias } from './alias-option.js';
import { appendList, enumParser, parseBoolean, parseDecimal, parseWholeNumber } from './option-parsers.js';
import { UsageError } from './usage-error.js';

/** The options of `worker create` and `worker update` (all optional for update: only what is given changes). */
export interface WorkerOptions {
  readonly name?: string;
  readonly runnerId?: string;
  readonly settings?: string;
  readonly periodic?: number;
  /** true: given without a name (the default channel) */
  readonly channel?: string | true;
  readonly queueType?: QueueType;
  readonly responseType?: ResponseType;
  readonly storeSuccess?: boolean;
  readonly storeFailure?: boolean;
  readonly nextWorkers?: string[];
  readonly useStatic?: boolean;
  readonly retryType?: RetryType;
  readonly retryInterval?: number;
  readonly retryMaxInterval?: number;
  readonly retryMaxRetry?: number;
  readonly retryBasis?: number;
}

/** Retries a retry type gets when --retry-max-retry is not given (and the worker had none). */
const DEFAULT_MAX_RETRY = 3;

/** What `worker create` uses for what is not given. */
export const NEW_WORKER: WorkerData = {
  name: '',
  runnerId: undefined,
  runnerSettings: Buffer.alloc(0),
  retryPolicy: { type: RetryType.NONE, interval: 1000, maxInterval: 60_000, maxRetry: 0, basis: 2 },
  periodicInterval: 0,
  channel: undefined,
  queueType: QueueType.NORMAL,
  responseType: ResponseType.DIRECT,
  storeSuccess: false,
  storeFailure: false,
  nextWorkers: [],
  useStatic: false,
};

/**
 * Adds the worker definition options under jobworkerp-client's names (`--runner-id`, with `--runner` as another
 * name); `update` makes -n/-r optional and adds the `--no-...` switches. The flags `--store-success`,
 * `--store-failure` and `--use-static` take an optional true/false (`--store-success false`).
 */
export function addWorkerOptions(command: Command, mode: 'create' | 'update'): Command {
  const create = mode === 'create';
  const dflt = (text: string): string => (create ? ` (default ${text})` : '');
  const nameFlags = '-n, --name <name>';
  const runnerFlags = '-r, --runner-id <id|name>';
  if (create) {
    command
      .requiredOption(nameFlags, 'worker name (unique)')
      .requiredOption(runnerFlags, 'runner id or name, e.g. 1 or COMMAND (also --runner)');
  } else {
    command
      .option(nameFlags, 'new worker name')
      .option(runnerFlags, 'new runner id or name (give -s too; also --runner)');
  }
  addAlias(command, '--runner <id|name>', 'runnerId');
  command
    .option('-s, --settings <json>', "runner settings as JSON, checked against the runner's settings schema")
    .option('-p, --periodic <ms>', `run every <ms> milliseconds; 0 = not periodic${dflt('0')}`, parseWholeNumber)
    .option('-c, --channel [name]', `channel (concurrency group); no name or '' = the default channel`)
    .option('-q, --queue-type <type>', `NORMAL, WITH_BACKUP or FORCED_RDB${dflt('NORMAL')}`, enumParser(QueueType))
    .option('--response-type <type>', `NO_RESULT, DIRECT or LISTEN_AFTER${dflt('DIRECT')}`, enumParser(ResponseType))
    .option('--store-success [bool]', 'store results of successful jobs', parseBoolean)
    .option('--store-failure [bool]', 'store results of failed jobs', parseBoolean)
    .option(
      '--next-workers <list>',
      'worker ids or names that get each output as args: comma-separated, or the option repeated',
      appendList,
    )
    .option('--use-static [bool]', 'keep one loaded runner instance for this worker', parseBoolean);
  if (!create) {
    command
      .option('--no-store-success', 'do not store results of successful jobs')
      .option('--no-store-failure', 'do not store results of failed jobs')
      .option('--no-use-static', 'load the runner for each job');
  }
  return command
    .option('--retry-type <type>', `NONE, EXPONENTIAL, LINEAR or CONSTANT${dflt('NONE')}`, enumParser(RetryType))
    .option('--retry-interval <ms>', `delay before the first retry${dflt('1000')}`, parseWholeNumber)
    .option('--retry-max-interval <ms>', `longest delay; 0 = no limit${dflt('60000')}`, parseWholeNumber)
    .option(
      '--retry-max-retry <n>',
      `retries before MAX_RETRY (default ${DEFAULT_MAX_RETRY} with a retry type)`,
      parseWholeNumber,
    )
    .option('--retry-basis <x>', `EXPONENTIAL growth factor${dflt('2')}`, parseDecimal);
}

/**
 * `base` (a new worker, or the current one for update) changed by the options that were given. Runner settings are
 * encoded with the settings schema of the (new or current) runner.
 */
export async function applyWorkerOptions(session: CliSession, base: WorkerData, o: WorkerOptions): Promise<WorkerData> {
  const baseRunnerId = base.runnerId?.value;
  const runner =
    o.runnerId !== undefined
      ? await session.lookups.resolveRunner(o.runnerId)
      : baseRunnerId === undefined
        ? undefined
        : await session.lookups.resolveRunner(String(baseRunnerId));
  if (runner === undefined) throw new UsageError("required option '-r, --runner-id <id|name>' not specified");
  if (runner.id !== baseRunnerId && baseRunnerId !== undefined && o.settings === undefined) {
    throw new UsageError(`-r changes the runner to ${runner.data.name}: give its settings with -s too`);
  }
  const nextWorkers =
    o.nextWorkers === undefined
      ? base.nextWorkers
      : await Promise.all(
          o.nextWorkers.map(async (ref) => ({ value: (await session.lookups.resolveWorker(ref)).id.value })),
        );
  return {
    name: o.name ?? base.name,
    runnerId: { value: runner.id },
    runnerSettings:
      o.settings === undefined
        ? base.runnerSettings
        : encodePayload(runner.data.runnerSettingsProto, o.settings, '-s/--settings'),
    retryPolicy: retryPolicy(base.retryPolicy ?? NEW_WORKER.retryPolicy!, o),
    periodicInterval: o.periodic ?? base.periodicInterval,
    channel: o.channel === undefined ? base.channel : o.channel === true || o.channel === '' ? undefined : o.channel,
    queueType: o.queueType ?? base.queueType,
    responseType: o.responseType ?? base.responseType,
    storeSuccess: o.storeSuccess ?? base.storeSuccess,
    storeFailure: o.storeFailure ?? base.storeFailure,
    nextWorkers,
    useStatic: o.useStatic ?? base.useStatic,
  };
}

function retryPolicy(base: RetryPolicy, o: WorkerOptions): RetryPolicy {
  const type = o.retryType ?? base.type;
  // turning retries on (from NONE) without saying how many gives the default count
  const turnedOn = type !== RetryType.NONE && base.type === RetryType.NONE && base.maxRetry === 0;
  const retries = turnedOn ? DEFAULT_MAX_RETRY : base.maxRetry;
  const policy: RetryPolicy = {
    type,
    interval: o.retryInterval ?? base.interval,
    maxInterval: o.retryMaxInterval ?? base.maxInterval,
    maxRetry: o.retryMaxRetry ?? retries,
    basis: o.retryBasis ?? base.basis,
  };
  const tuned = [o.retryInterval, o.retryMaxInterval, o.retryMaxRetry, o.retryBasis].some((v) => v !== undefined);
  if (tuned && policy.type === RetryType.NONE) {
    throw new UsageError('retry options have no effect with retry type NONE; set --retry-type too');
  }
  return policy;
}
