import type { JobResult } from '../../../libs/proto/src/index.js';
import { Priority, ResponseType, ResultStatus } from '../../../libs/proto/src/index.js';
import { decodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import { isoTime } from '../iso-time.js';
import type { RecordView } from './record-view.js';

/**
 * A job result. Output items of a SUCCESS are decoded with the runner's result schema (UTF-8 text when it has
 * none); other statuses carry an error message, shown as text. Args are decoded with the job args schema.
 */
export const jobResultView: RecordView<JobResult> = {
  columns: ['id', 'job_id', 'worker_name', 'status', 'output', 'args', 'start_time', 'end_time'],
  record: async (r, lookups) => {
    const d = r.data;
    const workerId = d?.workerId?.value;
    const runner = workerId === undefined ? undefined : await lookups.runnerOfWorker(workerId);
    const status = d?.status ?? ResultStatus.SUCCESS;
    const outputSchema = status === ResultStatus.SUCCESS ? runner?.resultOutputProto : undefined;
    return {
      id: r.id?.value ?? null,
      job_id: d?.jobId?.value ?? null,
      worker_id: workerId ?? null,
      worker_name: d?.workerName ?? null,
      status: enumName(ResultStatus, status),
      output: (d?.output?.items ?? []).map((item) => decodePayload(outputSchema, item)),
      args: decodePayload(runner?.jobArgsProto, d?.args ?? Buffer.alloc(0)),
      uniq_key: d?.uniqKey ?? null,
      retried: d?.retried ?? 0,
      max_retry: d?.maxRetry ?? 0,
      priority: enumName(Priority, d?.priority ?? 0),
      timeout: d?.timeout ?? 0,
      enqueue_time: isoTime(d?.enqueueTime),
      run_after_time: isoTime(d?.runAfterTime),
      start_time: isoTime(d?.startTime),
      end_time: isoTime(d?.endTime),
      response_type: enumName(ResponseType, d?.responseType ?? 0),
      store_success: d?.storeSuccess ?? false,
      store_failure: d?.storeFailure ?? false,
    };
  },
};
