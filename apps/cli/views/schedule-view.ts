import type { Schedule } from '../../../libs/proto/src/index.js';
import { MissedTickPolicy, OverlapPolicy, Priority, ScheduleOrigin } from '../../../libs/proto/src/index.js';
import { decodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import { isoTime } from '../iso-time.js';
import type { RecordView } from './record-view.js';

/** A cron schedule, its args decoded with the args schema of its worker's runner (when the worker exists). */
export const scheduleView: RecordView<Schedule> = {
  columns: ['id', 'name', 'cron', 'time_zone', 'worker', 'next_tick', 'last_tick', 'origin'],
  record: async (s, lookups) => {
    const d = s.data;
    const ref = d?.workerId !== undefined ? String(d.workerId.value) : (d?.workerName ?? '');
    const worker = ref === '' ? undefined : await lookups.resolveWorker(ref).catch(() => undefined);
    const runner = worker === undefined ? undefined : await lookups.runnerOfWorker(worker.id.value);
    return {
      id: s.id?.value ?? null,
      name: d?.name ?? '',
      cron: d?.cron ?? '',
      time_zone: d?.timeZone ?? '',
      worker: d?.workerId !== undefined ? d.workerId.value : (d?.workerName ?? null),
      args: decodePayload(runner?.jobArgsProto, d?.args ?? Buffer.alloc(0)),
      priority: enumName(Priority, d?.priority ?? 0),
      uniq_key: d?.uniqKey ?? null,
      timeout: d?.timeout ?? 0,
      missed_tick: enumName(MissedTickPolicy, d?.missedTick ?? 0),
      overlap: enumName(OverlapPolicy, d?.overlap ?? 0),
      origin: enumName(ScheduleOrigin, s.origin),
      next_tick: isoTime(s.nextTickTime),
      last_tick: isoTime(s.lastTickTime),
      last_job_id: s.lastJobId?.value ?? null,
    };
  },
};
