import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { DeadLetterFilter } from '../../../libs/proto/src/index.js';
import { ResultStatus } from '../../../libs/proto/src/index.js';
import { encodePayload, StatusError } from '../../../libs/client/src/index.js';
import type { ActionFactory } from '../action-factory.js';
import { enumName } from '../enum-name.js';
import { enumParser, parseBoolean, parseId, parseTime, parseWholeNumber } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { deadLetterView } from '../views/dead-letter-view.js';
import { withExamples } from '../with-examples.js';

interface FilterOptions {
  readonly worker?: string;
  readonly status?: ResultStatus[];
  readonly from?: number;
  readonly before?: number;
  readonly requeued?: boolean;
}

const parseStatus = enumParser(ResultStatus);

/** `-s max_retry,fatal_error`: result statuses by name; repeated options add up. */
function parseStatuses(value: string, previous: ResultStatus[] | undefined): ResultStatus[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new InvalidArgumentError('expected a comma-separated list of statuses');
  return [...(previous ?? []), ...items.map((s) => parseStatus(s) as ResultStatus)];
}

/** A worker given by id (digits) or by name, as the oneof of the requests. */
function workerRef(ref: string): { workerId?: { value: number }; workerName?: string } {
  return /^\d+$/.test(ref.trim()) ? { workerId: { value: Number(ref.trim()) } } : { workerName: ref };
}

function addFilterOptions(command: Command): Command {
  return command
    .option('-w, --worker <id|name>', 'only dead letters of this worker')
    .option(
      '-s, --status <statuses>',
      'only these statuses (max_retry, fatal_error, cancelled, abort, other_error)',
      parseStatuses,
    )
    .option('--from <time>', 'died at or after (epoch ms or ISO time)', parseTime)
    .option('--before <time>', 'died before (epoch ms or ISO time)', parseTime)
    .option('--requeued [bool]', 'only requeued ones (true) or only those not requeued yet (false)', parseBoolean);
}

function filterOf(o: FilterOptions): DeadLetterFilter {
  return {
    ...(o.worker === undefined ? {} : workerRef(o.worker)),
    statuses: o.status ?? [],
    diedFrom: o.from,
    diedBefore: o.before,
    requeued: o.requeued,
  };
}

/** `dead-letter list|count|find|requeue|requeue-all|purge|policy` */
export function addDeadLetterCommand(program: Command, action: ActionFactory): void {
  const dead = program
    .command('dead-letter')
    .description('dead letters: jobs kept after they ended in MAX_RETRY or FATAL_ERROR (jobworkerp-ts only)');
  withExamples(
    dead,
    'jobworkerp-client dead-letter list -w resize -s max_retry',
    'jobworkerp-client dead-letter requeue -i 7',
  );

  withExamples(
    addPagingOptions(addFilterOptions(dead.command('list').description('list dead letters, newest first'))).action(
      action<FilterOptions & PagingOptions>(async (s, o) => {
        const res = await s.conn.unary(s.conn.deadLetter, 'list', {
          filter: filterOf(o),
          limit: o.limit,
          offset: o.offset,
        });
        const records = [];
        for (const d of res.deadLetters) records.push(await deadLetterView.record(d, s.lookups));
        s.print.list(records, deadLetterView.columns);
      }),
    ),
    'jobworkerp-client dead-letter list -w resize --from 2030-01-02T00:00:00Z -l 20',
    'jobworkerp-client --format json dead-letter list -s fatal_error --requeued false',
  );

  withExamples(
    addFilterOptions(dead.command('count').description('count dead letters')).action(
      action<FilterOptions>(async (s, o) =>
        s.print.one({ total: (await s.conn.unary(s.conn.deadLetter, 'count', filterOf(o))).total }),
      ),
    ),
    'jobworkerp-client dead-letter count -s max_retry',
  );

  withExamples(
    dead
      .command('find')
      .description('show one dead letter')
      .requiredOption('-i, --id <id>', 'dead letter id', parseId)
      .action(
        action<{ id: number }>(async (s, o) => {
          const found = (await s.conn.unary(s.conn.deadLetter, 'find', { value: o.id })).data;
          if (found === undefined) throw new StatusError('NOT_FOUND', `dead letter ${o.id} does not exist`);
          s.print.one(await deadLetterView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client dead-letter find -i 7',
  );

  withExamples(
    dead
      .command('requeue')
      .description('run the job of a dead letter again as a new job (same args unless -a gives new ones)')
      .requiredOption('-i, --id <id>', 'dead letter id', parseId)
      .option('-a, --args <json>', "new job args as JSON for the runner's args schema (raw text when it has none)")
      .action(
        action<{ id: number; args?: string }>(async (s, o) => {
          let args: Uint8Array | undefined;
          if (o.args !== undefined) {
            const found = (await s.conn.unary(s.conn.deadLetter, 'find', { value: o.id })).data;
            if (found === undefined) throw new StatusError('NOT_FOUND', `dead letter ${o.id} does not exist`);
            const runner = await s.lookups.runnerOfWorker(found.workerId?.value ?? 0);
            if (runner === undefined) {
              throw new StatusError(
                'NOT_FOUND',
                `the worker of dead letter ${o.id} no longer exists; purge it instead`,
              );
            }
            args = encodePayload(runner.jobArgsProto, o.args, '-a/--args');
          }
          const res = await s.conn.unary(s.conn.deadLetter, 'requeue', {
            id: { value: o.id },
            args: args === undefined ? undefined : Buffer.from(args),
          });
          s.print.one({ dead_letter_id: o.id, job_id: res.jobId?.value ?? null });
        }),
      ),
    'jobworkerp-client dead-letter requeue -i 7',
    `jobworkerp-client dead-letter requeue -i 7 -a '{"args":["fixed"]}'`,
  );

  withExamples(
    addFilterOptions(
      dead
        .command('requeue-all')
        .description('requeue every dead letter the filter matches that was not requeued yet')
        .option('-l, --limit <n>', 'at most this many (the server takes at most 10000 per call)', parseWholeNumber),
    ).action(
      action<FilterOptions & { limit?: number }>(async (s, o) => {
        const res = await s.conn.unary(s.conn.deadLetter, 'requeueAll', { filter: filterOf(o), limit: o.limit });
        s.print.list(
          [
            ...res.requeued.map((r) => ({
              dead_letter_id: r.id?.value ?? null,
              job_id: r.jobId?.value ?? null,
              error: null,
            })),
            ...res.failed.map((f) => ({ dead_letter_id: f.id?.value ?? null, job_id: null, error: f.message })),
          ],
          ['dead_letter_id', 'job_id', 'error'],
        );
        // each failure is a row of the list above, with the server's reason; the command itself succeeded
      }),
    ),
    'jobworkerp-client dead-letter requeue-all -w resize -s max_retry',
  );

  withExamples(
    addFilterOptions(
      dead
        .command('purge')
        .description('delete the dead letters the filter matches (an empty filter needs --all)')
        .option('--older-than <ms>', 'only those that died more than this many ms ago', parseWholeNumber)
        .option('--all', 'allow an empty filter: every dead letter goes'),
    ).action(
      action<FilterOptions & { olderThan?: number; all?: boolean }>(async (s, o) => {
        const res = await s.conn.unary(s.conn.deadLetter, 'purge', {
          filter: filterOf(o),
          olderThan: o.olderThan,
          all: o.all === true,
        });
        s.print.one({ deleted: res.deleted });
      }),
    ),
    'jobworkerp-client dead-letter purge --older-than 604800000',
    'jobworkerp-client dead-letter purge -w resize -s fatal_error',
  );

  const policy = dead
    .command('policy')
    .description("a worker's dead-letter options: on/off and the statuses kept besides MAX_RETRY and FATAL_ERROR");
  withExamples(
    policy,
    'jobworkerp-client dead-letter policy get -w resize',
    'jobworkerp-client dead-letter policy set -w noisy --enabled false',
  );
  const printPolicy = (p: {
    workerId?: { value: number };
    enabled: boolean;
    extraStatuses: ResultStatus[];
    stored: boolean;
  }) => ({
    worker_id: p.workerId?.value ?? null,
    enabled: p.enabled,
    extra_statuses: p.extraStatuses.map((x) => enumName(ResultStatus, x)),
    source: p.stored ? 'worker' : 'default',
  });
  withExamples(
    policy
      .command('get')
      .description("show a worker's options (source: worker, or the configured default)")
      .requiredOption('-w, --worker <id|name>', 'worker id or name')
      .action(
        action<{ worker: string }>(async (s, o) =>
          s.print.one(printPolicy(await s.conn.unary(s.conn.deadLetter, 'getWorkerPolicy', workerRef(o.worker)))),
        ),
      ),
    'jobworkerp-client dead-letter policy get -w resize',
  );
  withExamples(
    policy
      .command('set')
      .description("set a worker's own options")
      .requiredOption('-w, --worker <id|name>', 'worker id or name')
      .requiredOption('--enabled <bool>', 'false: its jobs never become dead letters', parseBoolean)
      .option('--extra <statuses>', 'also keep these: cancelled, abort, other_error', parseStatuses)
      .action(
        action<{ worker: string; enabled: boolean; extra?: ResultStatus[] }>(async (s, o) =>
          s.print.one(
            printPolicy(
              await s.conn.unary(s.conn.deadLetter, 'setWorkerPolicy', {
                ...workerRef(o.worker),
                enabled: o.enabled,
                extraStatuses: o.extra ?? [],
              }),
            ),
          ),
        ),
      ),
    'jobworkerp-client dead-letter policy set -w resize --enabled true --extra cancelled,other_error',
    'jobworkerp-client dead-letter policy set -w noisy --enabled false',
  );
  withExamples(
    policy
      .command('reset')
      .description("drop the worker's own options: it follows the configured default again")
      .requiredOption('-w, --worker <id|name>', 'worker id or name')
      .action(
        action<{ worker: string }>(async (s, o) =>
          s.print.one(printPolicy(await s.conn.unary(s.conn.deadLetter, 'resetWorkerPolicy', workerRef(o.worker)))),
        ),
      ),
    'jobworkerp-client dead-letter policy reset -w resize',
  );
}
