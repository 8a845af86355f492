import type { Runner } from '../../../libs/proto/src/index.js';
import { RunnerType } from '../../../libs/proto/src/index.js';
import { enumName } from '../enum-name.js';
import type { RecordView } from './record-view.js';

/** A runner with its schemas (tables leave the schema texts out). */
export const runnerView: RecordView<Runner> = {
  columns: ['id', 'name', 'runner_type'],
  record: async (r) => ({
    id: r.id?.value ?? null,
    name: r.data?.name ?? '',
    runner_type: enumName(RunnerType, r.data?.runnerType ?? 0),
    runner_settings_proto: r.data?.runnerSettingsProto ?? '',
    job_args_proto: r.data?.jobArgsProto ?? '',
    result_output_proto: r.data?.resultOutputProto ?? null,
  }),
};
