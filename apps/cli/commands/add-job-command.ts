import type { Command } from 'commander';
import type { JobResult } from '../../../libs/proto/src/index.js';
import type { Priority } from '../../../libs/proto/src/index.js';
import { ResponseType } from '../../../libs/proto/src/index.js';
import type { ActionFactory } from '../action-factory.js';
import { encodePayload } from '../../../libs/client/src/index.js';
import { enumName } from '../enum-name.js';
import { expectDeleted } from '../expect-deleted.js';
import { listRecords } from '../list-records.js';
import { addAlias } from '../alias-option.js';
import { parseId, parsePriority, parseTime, parseWholeNumber } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { StatusError } from '../../../libs/client/src/index.js';
import { UsageError } from '../usage-error.js';
import { jobResultView } from '../views/job-result-view.js';
import { jobView } from '../views/job-view.js';
import { withExamples } from '../with-examples.js';
import { addEnqueueStreamCommand } from './add-enqueue-stream-command.js';

interface EnqueueOptions {
  readonly worker: string;
  readonly args?: string;
  readonly uniqueKey?: string;
  readonly runAfterTime?: number;
  readonly priority?: Priority;
  readonly timeout?: number;
  readonly listen?: boolean;
}

/** `job enqueue|enqueue-stream|find|list|delete|count`; `input` is what enqueue-stream reads (stdin) */
export function addJobCommand(program: Command, action: ActionFactory, input: () => NodeJS.ReadableStream): void {
  const job = program.command('job').description('jobs: run requests waiting or running');
  withExamples(
    job,
    `jobworkerp-client job enqueue --worker echo --args '{"args":["hello"]}'`,
    'jobworkerp-client job list',
  );

  const enqueue = job.command('enqueue');
  enqueue.addHelpText(
    'after',
    '\nHere -t is the job timeout. The deadline of the gRPC call is the global -t, given\n' +
      'before the command: jobworkerp-client -t 60000 job enqueue -w echo -t 5000',
  );
  enqueue
    .description(
      'run a job: prints the result of a DIRECT worker (of a LISTEN_AFTER one with --listen), else the job id',
    )
    .requiredOption('-w, --worker <id|name>', 'worker id or name (all digits = id)')
    .option('-a, --args <json>', "job args as JSON for the runner's args schema (raw text when it has none)")
    .option('-u, --unique-key <key>', 'reject the job while another with this key is unfinished (also --uniq-key)')
    .option(
      '-r, --run-after-time <time>',
      'run at this time: epoch ms or ISO time; periodic workers: the phase of the runs (also --run-after)',
      parseTime,
    )
    .option('-p, --priority <priority>', 'high, middle (= medium, the default) or low', parsePriority)
    .option('-t, --timeout <ms>', 'job timeout in ms; 0 = none', parseWholeNumber)
    .option('--listen', 'wait for the result of a LISTEN_AFTER worker and print it');
  addAlias(enqueue, '--uniq-key <key>', 'uniqueKey');
  addAlias(enqueue, '--run-after <time>', 'runAfterTime', parseTime);
  withExamples(
    enqueue.action(
      action<EnqueueOptions>(async (s, o) => {
        const worker = await s.lookups.resolveWorker(o.worker);
        const responseType = worker.data.responseType;
        if (o.listen === true && responseType === ResponseType.NO_RESULT) {
          throw new UsageError(
            `--listen needs a LISTEN_AFTER worker; worker ${JSON.stringify(worker.data.name)} is ` +
              enumName(ResponseType, responseType),
          );
        }
        const runnerId = worker.data.runnerId?.value ?? 0;
        const runner = await s.lookups.runner(runnerId);
        if (runner?.data === undefined) throw new StatusError('NOT_FOUND', `runner ${runnerId} does not exist`);
        const args = o.args === undefined ? undefined : encodePayload(runner.data.jobArgsProto, o.args, '-a/--args');
        const name = JSON.stringify(worker.data.name);
        if (responseType === ResponseType.DIRECT)
          s.note(`waiting for the result of the job (worker ${name} is DIRECT)...\n`);
        const res = await s.client.jobs.enqueue({
          worker: worker.id.value,
          args,
          uniqKey: o.uniqueKey,
          runAfterTime: o.runAfterTime,
          priority: o.priority,
          timeoutMs: o.timeout,
        });
        let result: JobResult | undefined = res.result;
        if (result === undefined && o.listen === true) {
          s.note(`job ${res.jobId} enqueued; waiting for its result (worker ${name})...\n`);
          result = await s.client.results.listen({ jobId: res.jobId, worker: worker.id.value });
        }
        if (result === undefined) s.print.one({ job_id: res.jobId });
        else s.print.one(await jobResultView.record(result, s.lookups));
      }),
    ),
    `jobworkerp-client job enqueue --worker echo --args '{"args":["hello"]}'`,
    `jobworkerp-client job enqueue -w later -a '{"args":["hello"]}' --listen`,
    `jobworkerp-client job enqueue -w 3 -a '{"args":["tick"]}' -r 2030-01-02T03:04:05Z -p high -t 30000`,
  );

  addEnqueueStreamCommand(job, action, input);

  withExamples(
    job
      .command('find')
      .description('show a waiting or running job (finished jobs are in job-result)')
      .requiredOption('-i, --id <id>', 'job id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const found = (await s.conn.unary(s.conn.job, 'find', { value: o.id })).data;
          if (found === undefined) {
            throw new StatusError(
              'NOT_FOUND',
              `job ${o.id} does not exist or has finished; see job-result list-by-job-id`,
            );
          }
          s.print.one(await jobView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client job find -i 7',
  );

  withExamples(
    addPagingOptions(job.command('list').description('list waiting and running jobs')).action(
      action<PagingOptions>((s, o) =>
        listRecords(s, (md, opts) => s.conn.job.findList({ limit: o.limit, offset: o.offset }, md, opts), jobView),
      ),
    ),
    'jobworkerp-client job list',
  );

  withExamples(
    job
      .command('delete')
      .description('cancel a job (a running one is aborted; a periodic series stops)')
      .requiredOption('-i, --id <id>', 'job id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const res = await s.conn.unary(s.conn.job, 'delete', { value: o.id });
          expectDeleted(s, 'job', o.id, res.isSuccess);
        }),
      ),
    'jobworkerp-client job delete -i 7',
  );

  withExamples(
    job
      .command('count')
      .description('count waiting and running jobs')
      .action(action(async (s) => s.print.one({ total: (await s.conn.unary(s.conn.job, 'count', {})).total }))),
    'jobworkerp-client job count',
  );
}
