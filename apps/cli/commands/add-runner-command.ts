import type { Command } from 'commander';
import type { ActionFactory } from '../action-factory.js';
import { expectDeleted } from '../expect-deleted.js';
import { listRecords } from '../list-records.js';
import { parseId } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { StatusError } from '../../../libs/client/src/index.js';
import { runnerView } from '../views/runner-view.js';
import { withExamples } from '../with-examples.js';

/** `runner find|list|delete|count` */
export function addRunnerCommand(program: Command, action: ActionFactory): void {
  const runner = program
    .command('runner')
    .description('runners: the kinds of work (COMMAND, HTTP_REQUEST, plugins, ...)');
  withExamples(runner, 'jobworkerp-client runner list');

  withExamples(
    runner
      .command('find')
      .description('show one runner with its settings, args and result schemas')
      .requiredOption('-i, --id <id>', 'runner id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const found = await s.lookups.runner(o.id);
          if (found === undefined) throw new StatusError('NOT_FOUND', `runner ${o.id} does not exist`);
          s.print.one(await runnerView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client runner find -i 1',
  );

  withExamples(
    addPagingOptions(runner.command('list').description('list runners')).action(
      action<PagingOptions>((s, o) =>
        listRecords(
          s,
          (md, opts) => s.conn.runner.findList({ limit: o.limit, offset: o.offset }, md, opts),
          runnerView,
        ),
      ),
    ),
    'jobworkerp-client runner list',
    'jobworkerp-client --format json runner list -l 10',
  );

  withExamples(
    runner
      .command('delete')
      .description('delete a plugin runner (built-in runners cannot be deleted)')
      .requiredOption('-i, --id <id>', 'runner id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const res = await s.conn.unary(s.conn.runner, 'delete', { value: o.id });
          expectDeleted(s, 'runner', o.id, res.isSuccess);
        }),
      ),
    'jobworkerp-client runner delete -i 1000',
  );

  withExamples(
    runner
      .command('count')
      .description('count runners')
      .action(action(async (s) => s.print.one({ total: (await s.conn.unary(s.conn.runner, 'count', {})).total }))),
    'jobworkerp-client runner count',
  );
}
