import type { Command } from 'commander';
import type { ActionFactory } from '../action-factory.js';
import { expectDeleted } from '../expect-deleted.js';
import { listRecords } from '../list-records.js';
import { parseId } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { StatusError } from '../../../libs/client/src/index.js';
import { workerView } from '../views/worker-view.js';
import { withExamples } from '../with-examples.js';
import type { WorkerOptions } from '../worker-options.js';
import { addWorkerOptions, applyWorkerOptions, NEW_WORKER } from '../worker-options.js';

/** `worker create|find|find-by-name|list|update|delete|count` */
export function addWorkerCommand(program: Command, action: ActionFactory): void {
  const worker = program.command('worker').description('workers: named, configured uses of a runner');
  withExamples(
    worker,
    `jobworkerp-client worker create -n echo -r COMMAND -s '{"name":"echo"}'`,
    'jobworkerp-client worker list',
  );

  withExamples(
    addWorkerOptions(worker.command('create').description('create a worker and show it'), 'create').action(
      action<WorkerOptions>(async (s, o) => {
        const data = await applyWorkerOptions(s, NEW_WORKER, o);
        const { id } = await s.conn.unary(s.conn.worker, 'create', data);
        s.print.one(await workerView.record({ id, data }, s.lookups));
      }),
    ),
    `jobworkerp-client worker create -n echo -r COMMAND -s '{"name":"echo"}' --store-success --store-failure`,
    `jobworkerp-client worker create -n later -r COMMAND -s '{"name":"echo"}' --response-type LISTEN_AFTER --store-success --store-failure`,
    `jobworkerp-client worker create -n flaky -r 1 -s '{"name":"false"}' --retry-type EXPONENTIAL --retry-max-retry 5`,
  );

  withExamples(
    worker
      .command('find')
      .description('show one worker')
      .requiredOption('-i, --id <id>', 'worker id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          s.print.one(await workerView.record(await s.lookups.resolveWorker(String(o.id)), s.lookups));
        }),
      ),
    'jobworkerp-client worker find -i 1',
  );

  withExamples(
    worker
      .command('find-by-name')
      .description('show one worker by its name')
      .requiredOption('-n, --name <name>', 'worker name')
      .action(
        action<{ name: string }>(async (s, o) => {
          const found = await s.lookups.workerByName(o.name);
          if (found === undefined)
            throw new StatusError('NOT_FOUND', `worker ${JSON.stringify(o.name)} does not exist`);
          s.print.one(await workerView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client worker find-by-name -n echo',
  );

  withExamples(
    addPagingOptions(worker.command('list').description('list workers')).action(
      action<PagingOptions>((s, o) =>
        listRecords(
          s,
          (md, opts) => s.conn.worker.findList({ limit: o.limit, offset: o.offset }, md, opts),
          workerView,
        ),
      ),
    ),
    'jobworkerp-client worker list',
    'jobworkerp-client --format json worker list -l 20 -o 40',
  );

  withExamples(
    addWorkerOptions(
      worker
        .command('update')
        .description('change a worker: only the options given change')
        .requiredOption('-i, --id <id>', 'worker id', parseId),
      'update',
    ).action(
      action<WorkerOptions & { id: number }>(async (s, o) => {
        const current = await s.lookups.resolveWorker(String(o.id));
        const data = await applyWorkerOptions(s, current.data, o);
        await s.conn.unary(s.conn.worker, 'update', { id: current.id, data });
        s.print.one(await workerView.record({ id: current.id, data }, s.lookups));
      }),
    ),
    'jobworkerp-client worker update -i 1 --channel slow --no-store-success',
    `jobworkerp-client worker update -i 1 -s '{"name":"printf"}'`,
  );

  withExamples(
    worker
      .command('delete')
      .description('delete a worker')
      .requiredOption('-i, --id <id>', 'worker id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const res = await s.conn.unary(s.conn.worker, 'delete', { value: o.id });
          expectDeleted(s, 'worker', o.id, res.isSuccess);
        }),
      ),
    'jobworkerp-client worker delete -i 1',
  );

  withExamples(
    worker
      .command('count')
      .description('count workers')
      .action(action(async (s) => s.print.one({ total: (await s.conn.unary(s.conn.worker, 'count', {})).total }))),
    'jobworkerp-client worker count',
  );
}
