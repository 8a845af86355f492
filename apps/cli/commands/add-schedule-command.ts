import type { Command } from 'commander';
import { Option } from 'commander';
import type { Schedule } from '../../../libs/proto/src/index.js';
import { MissedTickPolicy, OverlapPolicy } from '../../../libs/proto/src/index.js';
import type { Priority } from '../../../libs/proto/src/index.js';
import type { ScheduleSpec } from '../../../libs/client/src/index.js';
import { encodePayload, StatusError } from '../../../libs/client/src/index.js';
import type { ActionFactory } from '../action-factory.js';
import type { CliSession } from '../cli-session.js';
import { expectDeleted } from '../expect-deleted.js';
import { listRecords } from '../list-records.js';
import { enumParser, parseId, parsePriority, parseWholeNumber } from '../option-parsers.js';
import type { PagingOptions } from '../paging-options.js';
import { addPagingOptions } from '../paging-options.js';
import { scheduleView } from '../views/schedule-view.js';
import { withExamples } from '../with-examples.js';

interface ScheduleOptions {
  readonly name?: string;
  readonly cron?: string;
  readonly timeZone?: string;
  readonly worker?: string;
  readonly args?: string;
  readonly uniqueKey?: string;
  readonly priority?: Priority;
  readonly timeout?: number;
  readonly missedTick?: MissedTickPolicy;
  readonly overlap?: OverlapPolicy;
}

/** The options of `schedule create` and `schedule update` (where each one given replaces that field). */
function addScheduleOptions(command: Command, mode: 'create' | 'update'): Command {
  /** name, cron and worker are required to create */
  const needed = (flags: string, description: string): void =>
    void command.addOption(new Option(flags, description).makeOptionMandatory(mode === 'create'));
  const option = <T>(flags: string, description: string, parse?: (value: string) => T): void =>
    void command.addOption(
      parse === undefined ? new Option(flags, description) : new Option(flags, description).argParser(parse),
    );
  needed('-n, --name <name>', 'unique schedule name');
  needed(
    '-c, --cron <expression>',
    'cron expression: 5 fields (min hour day month weekday), 6 (seconds first) or 7 (seconds first, year last)',
  );
  option('-z, --time-zone <zone>', 'IANA time zone of the expression (default UTC)');
  needed('-w, --worker <id|name>', 'worker id or name (all digits = id; a name is looked up at each tick)');
  option('-a, --args <json>', "job args as JSON for the runner's args schema (raw text when it has none)");
  option('-u, --unique-key <key>', 'uniq_key of each job: a tick is skipped while the previous job holds it');
  option('-p, --priority <priority>', 'high, middle (= medium, the default) or low', parsePriority);
  option('-t, --timeout <ms>', 'job timeout in ms; 0 = none', parseWholeNumber);
  option(
    '--missed-tick <policy>',
    'ticks missed while no process ran: skip (default) or run-once',
    enumParser(MissedTickPolicy, 'MISSED_TICK_'),
  );
  option(
    '--overlap <policy>',
    'a tick while the previous job is unfinished: allow (default) or skip',
    enumParser(OverlapPolicy, 'OVERLAP_'),
  );
  return command;
}

/** The spec of a create (from the options) or an update (the current schedule with the options given applied). */
async function specOf(s: CliSession, o: ScheduleOptions, current?: Schedule): Promise<ScheduleSpec> {
  const d = current?.data;
  const currentWorker = d?.workerId !== undefined ? d.workerId.value : (d?.workerName ?? '');
  const worker = o.worker ?? String(currentWorker);
  let args: Uint8Array | undefined = d?.args;
  if (o.args !== undefined) {
    const resolved = await s.lookups.resolveWorker(worker);
    const runnerId = resolved.data.runnerId?.value ?? 0;
    const runner = await s.lookups.runner(runnerId);
    if (runner?.data === undefined) throw new StatusError('NOT_FOUND', `runner ${runnerId} does not exist`);
    args = encodePayload(runner.data.jobArgsProto, o.args, '-a/--args');
  }
  return {
    name: o.name ?? d?.name ?? '',
    cron: o.cron ?? d?.cron ?? '',
    timeZone: o.timeZone ?? d?.timeZone,
    worker,
    args,
    priority: o.priority ?? d?.priority,
    uniqKey: o.uniqueKey ?? d?.uniqKey,
    timeoutMs: o.timeout ?? d?.timeout,
    missedTick: o.missedTick ?? d?.missedTick,
    overlap: o.overlap ?? d?.overlap,
  };
}

async function show(s: CliSession, id: number): Promise<void> {
  const found = await s.client.schedules.find(id);
  if (found === undefined) throw new StatusError('NOT_FOUND', `schedule ${id} does not exist`);
  s.print.one(await scheduleView.record(found, s.lookups));
}

/** `schedule create|find|find-by-name|list|update|delete|count` (jobworkerp.ext.ScheduleService) */
export function addScheduleCommand(program: Command, action: ActionFactory): void {
  const schedule = program
    .command('schedule')
    .description('cron schedules: each tick enqueues one job, once across the cluster (jobworkerp-ts only)');
  withExamples(
    schedule,
    `jobworkerp-client schedule create -n every-2s -c '*/2 * * * * *' -w echo -a '{"args":["tick"]}'`,
    'jobworkerp-client schedule list',
  );

  withExamples(
    addScheduleOptions(schedule.command('create').description('create a schedule and show it'), 'create').action(
      action<ScheduleOptions>(async (s, o) => show(s, await s.client.schedules.create(await specOf(s, o)))),
    ),
    `jobworkerp-client schedule create -n every-2s -c '*/2 * * * * *' -w echo -a '{"args":["tick"]}'`,
    `jobworkerp-client schedule create -n nightly -c '0 30 2 * * *' -z Europe/Paris -w backup --overlap skip --missed-tick run-once`,
    `jobworkerp-client schedule create -n new-year -c '0 0 0 1 1 * 2030' -w echo -a '{"args":["2030"]}'`,
  );

  withExamples(
    schedule
      .command('find')
      .description('show one schedule')
      .requiredOption('-i, --id <id>', 'schedule id', parseId)
      .action(action<{ id: number }>(async (s, o) => show(s, o.id))),
    'jobworkerp-client schedule find -i 1',
  );

  withExamples(
    schedule
      .command('find-by-name')
      .description('show one schedule by its name')
      .requiredOption('-n, --name <name>', 'schedule name')
      .action(
        action<{ name: string }>(async (s, o) => {
          const found = await s.client.schedules.findByName(o.name);
          if (found === undefined)
            throw new StatusError('NOT_FOUND', `schedule ${JSON.stringify(o.name)} does not exist`);
          s.print.one(await scheduleView.record(found, s.lookups));
        }),
      ),
    'jobworkerp-client schedule find-by-name -n every-2s',
  );

  withExamples(
    addPagingOptions(schedule.command('list').description('list schedules (those of the cron file too)')).action(
      action<PagingOptions>((s, o) =>
        listRecords(
          s,
          (md, opts) => s.conn.schedule.findList({ limit: o.limit, offset: o.offset }, md, opts),
          scheduleView,
        ),
      ),
    ),
    'jobworkerp-client schedule list',
    'jobworkerp-client --format json schedule list',
  );

  withExamples(
    addScheduleOptions(
      schedule
        .command('update')
        .description('change a schedule: only the options given change')
        .requiredOption('-i, --id <id>', 'schedule id', parseId),
      'update',
    ).action(
      action<ScheduleOptions & { id: number }>(async (s, o) => {
        const current = await s.client.schedules.find(o.id);
        if (current === undefined) throw new StatusError('NOT_FOUND', `schedule ${o.id} does not exist`);
        await s.client.schedules.update(o.id, await specOf(s, o, current));
        await show(s, o.id);
      }),
    ),
    `jobworkerp-client schedule update -i 1 -c '*/5 * * * * *'`,
  );

  withExamples(
    schedule
      .command('delete')
      .description('delete a schedule (one of the cron file: edit the file instead)')
      .requiredOption('-i, --id <id>', 'schedule id', parseId)
      .action(
        action<{ id: number }>(async (s, o) =>
          expectDeleted(s, 'schedule', o.id, await s.client.schedules.delete(o.id)),
        ),
      ),
    'jobworkerp-client schedule delete -i 1',
  );

  withExamples(
    schedule
      .command('count')
      .description('count schedules')
      .action(action(async (s) => s.print.one({ total: await s.client.schedules.count() }))),
    'jobworkerp-client schedule count',
  );
}
