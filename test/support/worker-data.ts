/**
 * WorkerData fixtures for the end-to-end tests.
 *
 * `workerData` fills every field a test does not name with a neutral default: the value a client gets by leaving
 * the field out of the protobuf message, except `retryPolicy`, which is an explicit "no retries" policy:
 *
 * - retryPolicy: NO_RETRY (`{ type: NONE, interval: 0, maxInterval: 0, maxRetry: 0, basis: 2 }`)
 * - periodicInterval: 0 (not periodic)
 * - channel: undefined (the default channel)
 * - queueType: NORMAL
 * - responseType: NO_RESULT
 * - storeSuccess: false, storeFailure: false
 * - nextWorkers: [] (a new array each call)
 * - useStatic: false
 *
 * Tests that want DIRECT or LISTEN_AFTER results, or stored results, say so in the fields they pass.
 */
import { NO_RETRY } from '../../libs/core/src/index.js';
import type { RetryPolicy, WorkerData } from '../../libs/proto/src/index.js';
import { CommandArgs, CommandRunnerSettings, QueueType, ResponseType, RetryType } from '../../libs/proto/src/index.js';

/** The id of the built-in COMMAND runner row (every server registers it first). */
export const COMMAND_RUNNER_ID = 1;

/** No retries: a failure is final at once (the frozen policy of libs/core). */
export { NO_RETRY };

/** Up to `maxRetry` retries, `interval` ms apart. */
export function constantRetry(interval: number, maxRetry: number): RetryPolicy {
  return { type: RetryType.CONSTANT, interval, maxInterval: 0, maxRetry, basis: 2 };
}

/** A WorkerData with the given fields and the neutral defaults above for the rest. */
export function workerData(
  fields: Pick<WorkerData, 'name' | 'runnerId' | 'runnerSettings'> & Partial<WorkerData>,
): WorkerData {
  return {
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    storeFailure: false,
    nextWorkers: [],
    useStatic: false,
    ...fields,
  };
}

/** Protobuf CommandRunnerSettings that run `executable`. */
export function commandSettings(executable: string): Buffer {
  return Buffer.from(CommandRunnerSettings.encode({ name: executable }).finish());
}

/** Protobuf CommandArgs: the arguments of one COMMAND job. */
export function commandArgs(...args: string[]): Buffer {
  return Buffer.from(CommandArgs.encode({ args }).finish());
}

/** A COMMAND worker running `executable`, with the neutral defaults unless `fields` say otherwise. */
export function commandWorkerData(name: string, executable: string, fields: Partial<WorkerData> = {}): WorkerData {
  return workerData({
    name,
    runnerId: { value: COMMAND_RUNNER_ID },
    runnerSettings: commandSettings(executable),
    ...fields,
  });
}
