import { InvalidArgumentError } from './errors.js';
import { checkMaxChars, MAX_CHANNEL_CHARS, MAX_WORKER_NAME_CHARS } from './input-limits.js';
import type { Runner, WorkerSpec } from './model.js';
import { QueueType, ResponseType, RetryType } from './model.js';
import { checkBytesAgainstSchema } from './schema.js';

export interface WorkerRuleOptions {
  /** JOB_QUEUE_FETCH_INTERVAL in ms: periodic intervals must be longer */
  readonly fetchIntervalMs: number;
}

/**
 * Checks a worker definition against its runner and the rules clients rely on. Throws InvalidArgumentError with
 * a message that says what to change. The runner must already be resolved (an unknown runner is the caller's error).
 */
export function validateWorker(spec: WorkerSpec, runner: Runner, options: WorkerRuleOptions): void {
  if (spec.name.trim() === '') throw new InvalidArgumentError('worker name must not be empty');
  checkMaxChars(spec.name, MAX_WORKER_NAME_CHARS, 'worker name');
  if (spec.channel !== undefined) checkMaxChars(spec.channel, MAX_CHANNEL_CHARS, 'worker channel');
  if (spec.periodicInterval > 0) {
    if (spec.periodicInterval <= options.fetchIntervalMs) {
      throw new InvalidArgumentError(
        `periodic_interval ${spec.periodicInterval} ms must be greater than JOB_QUEUE_FETCH_INTERVAL ` +
          `(${options.fetchIntervalMs} ms)`,
      );
    }
    if (spec.responseType === ResponseType.DIRECT) {
      throw new InvalidArgumentError(
        'a periodic worker cannot use response_type DIRECT; use NO_RESULT or LISTEN_AFTER',
      );
    }
  }
  if (spec.queueType === QueueType.FORCED_RDB && spec.responseType === ResponseType.DIRECT) {
    throw new InvalidArgumentError('queue_type FORCED_RDB cannot be used with response_type DIRECT');
  }
  if (spec.responseType === ResponseType.LISTEN_AFTER && !(spec.storeSuccess && spec.storeFailure)) {
    throw new InvalidArgumentError('response_type LISTEN_AFTER needs store_success and store_failure set to true');
  }
  const p = spec.retryPolicy;
  if (!Object.values(RetryType).includes(p.type)) {
    throw new InvalidArgumentError(`retry_policy.type ${p.type} is unknown; use NONE, EXPONENTIAL, LINEAR or CONSTANT`);
  }
  if (p.type === RetryType.EXPONENTIAL && !(p.basis >= 1)) {
    throw new InvalidArgumentError(`retry_policy.basis ${p.basis} must be >= 1 for EXPONENTIAL retries`);
  }
  if (!Object.values(QueueType).includes(spec.queueType)) {
    throw new InvalidArgumentError(`queue_type ${spec.queueType} is unknown; use NORMAL, WITH_BACKUP or FORCED_RDB`);
  }
  if (!Object.values(ResponseType).includes(spec.responseType)) {
    throw new InvalidArgumentError(
      `response_type ${spec.responseType} is unknown; use NO_RESULT, DIRECT or LISTEN_AFTER`,
    );
  }
  checkBytesAgainstSchema(runner.settingsProto, spec.runnerSettings, `runner_settings for runner "${runner.name}"`);
}
