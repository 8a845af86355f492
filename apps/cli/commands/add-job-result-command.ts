import type { Command } from 'commander';
import type { ActionFactory } from '../action-factory.js';
import { expectDeleted } from '../expect-deleted.js';
import { listRecords } from '../list-records.js';
import { addAlias } from '../alias-option.js';
import { parseId, parseWholeNumber } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { StatusError } from '../../../libs/client/src/index.js';
import { jobResultView } from '../views/job-result-view.js';
import { withExamples } from '../with-examples.js';

/** `job-result find|listen|listen-stream|list|list-by-job-id|delete|count` */
export function addJobResultCommand(program: Command, action: ActionFactory): void {
  const jobResult = program
    .command('job-result')
    .description('job results: stored results, and listening for new ones');
  withExamples(jobResult, 'jobworkerp-client job-result list', 'jobworkerp-client job-result listen-stream -w later');

  withExamples(
    jobResult
      .command('find')
      .description('show one stored result')
      .requiredOption('-i, --id <id>', 'job result id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const found = (await s.conn.unary(s.conn.jobResult, 'find', { value: o.id })).data;
          if (found === undefined) throw new StatusError('NOT_FOUND', `job result ${o.id} does not exist`);
          s.print.one(await jobResultView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client job-result find -i 12',
  );

  const listen = jobResult
    .command('listen')
    .description('wait for the final result of a job of a LISTEN_AFTER worker (also one that already finished)')
    .requiredOption('-j, --job-id <id>', 'job id', parseId)
    .requiredOption('-w, --worker <id|name>', 'worker id or name')
    .option(
      '-t, --timeout <ms>',
      'give up after this many ms (server side; default: a day; also --listen-timeout)',
      parseWholeNumber,
    );
  addAlias(listen, '--listen-timeout <ms>', 'timeout', parseWholeNumber);
  withExamples(
    listen.action(
      action<{ jobId: number; worker: string; timeout?: number }>(async (s, o) => {
        s.note(`waiting for the result of job ${o.jobId} (worker ${JSON.stringify(o.worker)})...\n`);
        // the worker and its runner are looked up before waiting: a result that arrived is printed with no more calls
        const result = await s.client.results.listen({ jobId: o.jobId, worker: o.worker, timeoutMs: o.timeout });
        s.print.one(await jobResultView.record(result, s.lookups));
      }),
    ),
    'jobworkerp-client job-result listen --job-id 7 --worker later --timeout 70000',
    'jobworkerp-client job-result listen -j 7 -w 3',
  );

  withExamples(
    jobResult
      .command('listen-stream')
      .description('print the results of a (non-DIRECT) worker as they are produced, until Ctrl-C')
      .requiredOption('-w, --worker <id|name>', 'worker id or name')
      .action(
        action<{ worker: string }>(async (s, o) => {
          const worker = await s.lookups.resolveWorker(o.worker);
          s.note(`listening for the results of worker ${JSON.stringify(worker.data.name)}; Ctrl-C ends...\n`);
          try {
            await s.client.results.listenStream(worker.id.value, async (r) =>
              s.print.item(await jobResultView.record(r, s.lookups)),
            );
          } catch (err) {
            if (s.signal.aborted) return; // Ctrl-C is how this command ends
            throw err;
          }
        }),
      ),
    'jobworkerp-client job-result listen-stream -w later',
    'jobworkerp-client --format json job-result listen-stream -w later | jq .output',
  );

  withExamples(
    addPagingOptions(jobResult.command('list').description('list stored results')).action(
      action<PagingOptions>((s, o) =>
        listRecords(
          s,
          (md, opts) => s.conn.jobResult.findList({ limit: o.limit, offset: o.offset }, md, opts),
          jobResultView,
        ),
      ),
    ),
    'jobworkerp-client job-result list -l 20',
  );

  withExamples(
    jobResult
      .command('list-by-job-id')
      .description('list the stored results of one job (one per try when retries are stored)')
      .requiredOption('-j, --job-id <id>', 'job id', parseId)
      .action(
        action<{ jobId: number }>((s, o) =>
          listRecords(
            s,
            (md, opts) => s.conn.jobResult.findListByJobId({ jobId: { value: o.jobId } }, md, opts),
            jobResultView,
          ),
        ),
      ),
    'jobworkerp-client job-result list-by-job-id -j 7',
  );

  withExamples(
    jobResult
      .command('delete')
      .description('delete a stored result')
      .requiredOption('-i, --id <id>', 'job result id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const res = await s.conn.unary(s.conn.jobResult, 'delete', { value: o.id });
          expectDeleted(s, 'job result', o.id, res.isSuccess);
        }),
      ),
    'jobworkerp-client job-result delete -i 12',
  );

  withExamples(
    jobResult
      .command('count')
      .description('count stored results')
      .action(action(async (s) => s.print.one({ total: (await s.conn.unary(s.conn.jobResult, 'count', {})).total }))),
    'jobworkerp-client job-result count',
  );
}
