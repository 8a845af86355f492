import type { Command } from 'commander';
import { JobStatus } from '../../../libs/proto/src/index.js';
import type { ActionFactory } from '../action-factory.js';
import type { CliRecord } from '../cli-record.js';
import { enumName } from '../enum-name.js';
import { parseId } from '../option-parsers.js';
import { withExamples } from '../with-examples.js';

/** `job-status find|list` */
export function addJobStatusCommand(program: Command, action: ActionFactory): void {
  const jobStatus = program
    .command('job-status')
    .description('job status: PENDING, RUNNING or WAIT_RESULT (a finished job has none)');
  withExamples(jobStatus, 'jobworkerp-client job-status list');

  withExamples(
    jobStatus
      .command('find')
      .description('show the status of one job (null: finished or unknown)')
      .requiredOption('-i, --id <id>', 'job id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const res = await s.conn.unary(s.conn.jobStatus, 'find', { value: o.id });
          s.print.one({ job_id: o.id, status: res.status === undefined ? null : enumName(JobStatus, res.status) });
        }),
      ),
    'jobworkerp-client job-status find -i 7',
  );

  withExamples(
    jobStatus
      .command('list')
      .description('list the status of every unfinished job')
      .action(
        action(async (s) => {
          const records: CliRecord[] = [];
          await s.conn.stream(
            (md, opts) => s.conn.jobStatus.findAll({}, md, opts),
            (r) => void records.push({ job_id: r.id?.value ?? null, status: enumName(JobStatus, r.status) }),
          );
          s.print.list(records, ['job_id', 'status']);
        }),
      ),
    'jobworkerp-client job-status list',
  );
}
