import type { DeadLetter } from '../../../libs/proto/src/index.js';
import { Priority, ResultStatus } from '../../../libs/proto/src/index.js';
import { decodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import { isoTime } from '../iso-time.js';
import type { RecordView } from './record-view.js';

/**
 * A dead letter: the job and its last result. Its output is an error message (a failure), shown as text; args are
 * decoded with the job args schema of the worker's runner (raw text when the worker is gone).
 */
export const deadLetterView: RecordView<DeadLetter> = {
  columns: ['id', 'job_id', 'worker_name', 'status', 'retried', 'died_at', 'requeued_job_id', 'output'],
  record: async (d, lookups) => {
    const workerId = d.workerId?.value;
    const runner = workerId === undefined ? undefined : await lookups.runnerOfWorker(workerId).catch(() => undefined);
    return {
      id: d.id?.value ?? null,
      job_id: d.jobId?.value ?? null,
      worker_id: workerId ?? null,
      worker_name: d.workerName,
      status: enumName(ResultStatus, d.status),
      output: (d.output?.items ?? []).map((item) => decodePayload(undefined, item)),
      args: decodePayload(runner?.jobArgsProto, d.args),
      uniq_key: d.uniqKey ?? null,
      retried: d.retried,
      max_retry: d.maxRetry,
      priority: enumName(Priority, d.priority),
      timeout: d.timeout,
      enqueue_time: isoTime(d.enqueueTime),
      start_time: isoTime(d.startTime),
      end_time: isoTime(d.endTime),
      died_at: isoTime(d.diedAt),
      requeued_job_id: d.requeuedJobId?.value ?? null,
      requeued_at: isoTime(d.requeuedAt),
    };
  },
};
