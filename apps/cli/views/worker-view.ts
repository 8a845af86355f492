import type { Worker } from '../../../libs/proto/src/index.js';
import { QueueType, ResponseType, RetryType } from '../../../libs/proto/src/index.js';
import { decodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import type { RecordView } from './record-view.js';

/** A worker, its runner settings decoded with the runner's settings schema. */
export const workerView: RecordView<Worker> = {
  columns: [
    'id',
    'name',
    'runner_name',
    'runner_settings',
    'response_type',
    'queue_type',
    'channel',
    'periodic_interval',
  ],
  record: async (w, lookups) => {
    const d = w.data;
    const runner = d?.runnerId === undefined ? undefined : await lookups.runner(d.runnerId.value);
    const retry = d?.retryPolicy;
    return {
      id: w.id?.value ?? null,
      name: d?.name ?? '',
      runner_id: d?.runnerId?.value ?? null,
      runner_name: runner?.data?.name ?? null,
      runner_settings: decodePayload(runner?.data?.runnerSettingsProto, d?.runnerSettings ?? Buffer.alloc(0)),
      retry_policy:
        retry === undefined
          ? null
          : {
              type: enumName(RetryType, retry.type),
              interval: retry.interval,
              max_interval: retry.maxInterval,
              max_retry: retry.maxRetry,
              basis: retry.basis,
            },
      periodic_interval: d?.periodicInterval ?? 0,
      channel: d?.channel ?? null,
      queue_type: enumName(QueueType, d?.queueType ?? 0),
      response_type: enumName(ResponseType, d?.responseType ?? 0),
      store_success: d?.storeSuccess ?? false,
      store_failure: d?.storeFailure ?? false,
      next_workers: (d?.nextWorkers ?? []).map((n) => n.value),
      use_static: d?.useStatic ?? false,
    };
  },
};
