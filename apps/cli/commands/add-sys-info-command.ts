import type { Command } from 'commander';
import { Option } from 'commander';
import type { SystemStatus } from '../../../libs/proto/src/index.js';
import type { ActionFactory } from '../action-factory.js';
import type { CliRecord } from '../cli-record.js';
import { isoTime } from '../iso-time.js';
import { renderCard } from '../render-card.js';
import { renderTable } from '../render-table.js';
import { withExamples } from '../with-examples.js';

const PROCESS_COLUMNS = ['kind', 'node_id', 'host', 'pid', 'started', 'last_heartbeat', 'channels'] as const;
const CHANNEL_COLUMNS = ['channel', 'waiting', 'running', 'oldest_waiting_ms', 'completed_per_second'] as const;

/** The status as one record: snake_case keys, times as ISO strings (the raw epoch ms stay beside them in JSON). */
export function systemStatusRecord(s: SystemStatus): CliRecord {
  return {
    version: s.version,
    uptime_ms: s.uptimeMs,
    storage_type: s.storageType,
    time: isoTime(s.time),
    delayed_jobs: s.delayedJobs,
    periodic_jobs: s.periodicJobs,
    dead_letters: s.deadLetters,
    schedules: s.schedules,
    processes: s.processes.map((p) => ({
      kind: p.kind,
      node_id: p.nodeId,
      host: p.host,
      pid: p.pid,
      started: isoTime(p.startTime),
      last_heartbeat: isoTime(p.lastHeartbeat),
      channels: p.channels.map((c) => ({ name: c.name, concurrency: c.concurrency })),
      instance_id: p.instanceId,
    })),
    channels: s.channels.map((c) => ({
      channel: c.name,
      waiting: c.waiting,
      running: c.running,
      oldest_waiting_ms: c.oldestWaitingMs,
      completed_per_second: Math.round(c.completedPerSecond * 1000) / 1000,
    })),
  };
}

/** For people: the summary as a card, then a table of the processes and one of the channels. */
function statusText(status: SystemStatus, record: CliRecord): string {
  const { processes: _, channels: __, ...summary } = record;
  const processes = status.processes.map((p) => ({
    kind: p.kind,
    node_id: p.nodeId,
    host: p.host,
    pid: p.pid,
    started: isoTime(p.startTime),
    last_heartbeat: isoTime(p.lastHeartbeat),
    channels: p.channels.map((c) => `${c.name}:${c.concurrency}`).join(', '),
  }));
  const channels = status.channels.map((c) => ({
    channel: c.name,
    waiting: c.waiting,
    running: c.running,
    oldest_waiting_ms: c.oldestWaitingMs,
    completed_per_second: Math.round(c.completedPerSecond * 1000) / 1000,
  }));
  return [
    renderCard(summary),
    '',
    'processes',
    renderTable(processes, PROCESS_COLUMNS),
    '',
    'channels',
    renderTable(channels, CHANNEL_COLUMNS),
  ].join('\n');
}

/** `sys-info [--format json|text]`: the status of the whole system (jobworkerp.ext.SystemService). */
export function addSysInfoCommand(program: Command, action: ActionFactory): void {
  withExamples(
    program
      .command('sys-info')
      .description(
        "the status of the system: live processes, each channel's queue, delayed and periodic jobs, dead letters and schedules (jobworkerp-ts only)",
      )
      .addOption(
        new Option(
          '--format <format>',
          'json: one JSON object; text: a summary and tables (default: as the global --format)',
        ).choices(['json', 'text']),
      )
      .action(
        action<{ format?: 'json' | 'text' }>(async (s, o) => {
          const status = await s.client.system.status();
          const record = systemStatusRecord(status);
          const json = o.format === undefined ? s.print.format === 'json' : o.format === 'json';
          s.print.raw(json ? `${JSON.stringify(record)}\n` : `${statusText(status, record)}\n`);
        }),
      ),
    'jobworkerp-client sys-info',
    'jobworkerp-client sys-info --format json',
  );
}
