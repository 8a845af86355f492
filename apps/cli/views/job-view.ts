import type { Job } from '../../../libs/proto/src/index.js';
import { Priority } from '../../../libs/proto/src/index.js';
import { decodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import { isoTime } from '../iso-time.js';
import type { RecordView } from './record-view.js';

/** A job, its args decoded with the job args schema of its worker's runner. */
export const jobView: RecordView<Job> = {
  columns: ['id', 'worker_name', 'args', 'priority', 'enqueue_time', 'run_after_time', 'retried', 'uniq_key'],
  record: async (j, lookups) => {
    const d = j.data;
    const workerId = d?.workerId?.value;
    const worker = workerId === undefined ? undefined : await lookups.worker(workerId);
    const runner = workerId === undefined ? undefined : await lookups.runnerOfWorker(workerId);
    return {
      id: j.id?.value ?? null,
      worker_id: workerId ?? null,
      worker_name: worker?.data?.name ?? null,
      args: decodePayload(runner?.jobArgsProto, d?.args ?? Buffer.alloc(0)),
      uniq_key: d?.uniqKey ?? null,
      enqueue_time: isoTime(d?.enqueueTime),
      run_after_time: isoTime(d?.runAfterTime),
      grabbed_until_time: isoTime(d?.grabbedUntilTime),
      retried: d?.retried ?? 0,
      priority: enumName(Priority, d?.priority ?? 0),
      timeout: d?.timeout ?? 0,
    };
  },
};
