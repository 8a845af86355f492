/**
 * sys-info end to end, on the built processes: while jobs flow, `jobworkerp-client sys-info --format json` shows the
 * numbers the test made — waiting and running jobs per channel, the oldest waiting job, completions per second,
 * delayed and periodic jobs in the RDB, dead letters and schedules — and the live processes. On Scalable (a
 * grpc-front and two workers on MariaDB and Redis) a SIGKILLed worker leaves the list within the heartbeat timeout.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobworkerpClient, QueueType, ResponseType } from '../../libs/client/src/index.js';
import { DEFAULT_CHANNEL } from '../../libs/config/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Heartbeats every 300 ms; a process is gone 900 ms after its last one. */
const HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '300', JOB_QUEUE_FETCH_INTERVAL: '200' };
const TIMEOUT_MS = 900;

interface ProcessRow {
  kind: string;
  node_id: number;
  host: string;
  pid: number;
  started: string;
  last_heartbeat: string;
  channels: Array<{ name: string; concurrency: number }>;
}
interface ChannelRow {
  channel: string;
  waiting: number;
  running: number;
  oldest_waiting_ms: number;
  completed_per_second: number;
}
interface SysInfo {
  version: string;
  uptime_ms: number;
  storage_type: string;
  delayed_jobs: number;
  periodic_jobs: number;
  dead_letters: number;
  schedules: number;
  processes: ProcessRow[];
  channels: ChannelRow[];
}

/** `jobworkerp-client -a <front> sys-info --format json`, parsed (one JSON object). */
function sysInfo(address: string): Promise<SysInfo> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, '-a', `http://${address}`, 'sys-info', '--format', 'json'],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`sys-info failed: ${stderr}`));
        else resolve(JSON.parse(stdout) as SysInfo);
      },
    );
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

const channelOf = (info: SysInfo, name: string): ChannelRow | undefined =>
  info.channels.find((c) => c.channel === name);

/**
 * Makes the traffic both modes check: on channel `slow` (served with concurrency 1 per engine) jobs that sleep, on
 * channel `nobody` (served by no process) jobs that wait, on the default channel three quick jobs and one that dies
 * (a dead letter), two delayed jobs, one periodic series, and one schedule.
 */
async function makeTraffic(client: JobworkerpClient, slowJobs: number): Promise<void> {
  const sh = { runner: 'COMMAND', settings: { name: 'sh' }, responseType: ResponseType.NO_RESULT } as const;
  await client.workers.create({ name: 'sleepy', ...sh, channel: 'slow' });
  await client.workers.create({ name: 'stuck', ...sh, channel: 'nobody' });
  await client.workers.create({ name: 'quick', ...sh });
  await client.workers.create({ name: 'dies', ...sh });
  await client.workers.create({ name: 'hourly', ...sh, periodicInterval: 3_600_000, queueType: QueueType.NORMAL });
  const now = Date.now();
  for (let i = 0; i < slowJobs; i += 1)
    await client.jobs.enqueue({ worker: 'sleepy', args: { args: ['-c', 'sleep 60'] } });
  for (let i = 0; i < 2; i += 1) await client.jobs.enqueue({ worker: 'stuck', args: { args: ['-c', 'true'] } });
  for (let i = 0; i < 3; i += 1) await client.jobs.enqueue({ worker: 'quick', args: { args: ['-c', 'true'] } });
  await client.jobs.enqueue({ worker: 'dies', args: { args: ['-c', 'exit 3'] } });
  for (let i = 0; i < 2; i += 1) {
    await client.jobs.enqueue({ worker: 'quick', args: { args: ['-c', 'true'] }, runAfterTime: now + 3_600_000 });
  }
  // a day ahead: the series' first run stays in the RDB whatever the time of day
  await client.jobs.enqueue({ worker: 'hourly', args: { args: ['-c', 'true'] }, runAfterTime: now + 86_400_000 });
  await client.schedules.create({
    name: 'new-year',
    cron: '0 0 0 1 1 *',
    worker: 'quick',
    args: { args: ['-c', 'true'] },
  });
}

describe('sys-info on Standalone (all-in-one)', () => {
  let server: ServerProcess;
  let client: JobworkerpClient;

  beforeAll(async () => {
    server = await startServer({
      env: {
        ...HEARTBEAT,
        WORKER_CHANNELS: 'slow',
        WORKER_CHANNEL_CONCURRENCIES: '1',
        WORKER_DEFAULT_CONCURRENCY: '2',
      },
    });
    client = new JobworkerpClient({ address: server.address });
  });
  afterAll(async () => {
    client?.close();
    await server?.stop(2_000);
  });

  it('shows the process, each channel and the RDB counts the test made', async () => {
    await makeTraffic(client, 3);
    const info = await waitFor('the jobs to settle', async () => {
      const i = await sysInfo(server.address);
      const slow = channelOf(i, 'slow');
      const done = channelOf(i, DEFAULT_CHANNEL);
      return slow?.running === 1 &&
        done !== undefined &&
        done.completed_per_second >= 4 / 60 - 1e-9 &&
        i.dead_letters === 1
        ? i
        : undefined;
    });
    expect(info.storage_type).toBe('Standalone');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.uptime_ms).toBeGreaterThan(0);
    expect(info.processes).toHaveLength(1);
    expect(info.processes[0]).toMatchObject({
      kind: 'all-in-one',
      node_id: 0,
      pid: server.child.pid,
      channels: [
        { name: DEFAULT_CHANNEL, concurrency: 2 },
        { name: 'slow', concurrency: 1 },
      ],
    });
    expect(Date.parse(info.processes[0]!.last_heartbeat)).toBeGreaterThan(Date.now() - 10_000);
    expect(channelOf(info, 'slow')).toMatchObject({ waiting: 2, running: 1 });
    expect(channelOf(info, 'slow')!.oldest_waiting_ms).toBeGreaterThanOrEqual(0);
    expect(channelOf(info, 'nobody')).toMatchObject({ waiting: 2, running: 0, completed_per_second: 0 });
    // three quick jobs and the one that died: four runs ended within the minute
    expect(channelOf(info, DEFAULT_CHANNEL)).toMatchObject({ waiting: 0, running: 0 });
    expect(channelOf(info, DEFAULT_CHANNEL)!.completed_per_second).toBeCloseTo(4 / 60, 3);
    expect(info).toMatchObject({ delayed_jobs: 2, periodic_jobs: 1, dead_letters: 1, schedules: 1 });

    // the waiting jobs age
    await sleep(1_200);
    const later = await sysInfo(server.address);
    expect(channelOf(later, 'nobody')!.oldest_waiting_ms).toBeGreaterThanOrEqual(1_000);
  });

  it('prints a summary and tables without --format json', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [CLI, '-a', server.address, 'sys-info', '--format', 'text'],
        { cwd: REPO_ROOT },
        (err, stdout) => (err === null ? resolve(stdout) : reject(new Error(err.message))),
      );
    });
    expect(text).toMatch(/^version\s+\d/m);
    expect(text).toMatch(/^storage_type\s+Standalone$/m);
    expect(text).toMatch(/^KIND\s+NODE_ID\s+HOST/m);
    expect(text).toMatch(/^all-in-one\s+0\s/m);
    expect(text).toMatch(/^nobody\s+2\s+0\s/m);
  });
});

describe('sys-info on Scalable (grpc-front + 2 workers, MariaDB + Redis)', () => {
  let db: { name: string; drop(): Promise<void> };
  let env: Record<string, string>;
  let front: ServerProcess;
  const workers: ServerProcess[] = [];
  let client: JobworkerpClient;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    env = {
      ...scalableEnv(db.name, `jwtest-${randomBytes(4).toString('hex')}`),
      ...HEARTBEAT,
      WORKER_CHANNELS: 'slow',
      WORKER_CHANNEL_CONCURRENCIES: '1',
      WORKER_DEFAULT_CONCURRENCY: '2',
      SHUTDOWN_GRACE_PERIOD_MS: '0',
    };
    front = await startServer({ app: 'grpc-front', env });
    for (let i = 0; i < 2; i += 1) workers.push(await startServer({ app: 'worker', env }));
    client = new JobworkerpClient({ address: front.address });
  });
  afterAll(async () => {
    client?.close();
    await Promise.all([front, ...workers].map((p) => p?.stop(2_000)));
    await db?.drop();
    if (env !== undefined) {
      await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, env['REDIS_KEY_PREFIX']!);
    }
  });

  it('shows every process and the cluster-wide numbers, and drops a SIGKILLed worker within the timeout', async () => {
    await makeTraffic(client, 4);
    const info = await waitFor('the jobs to settle', async () => {
      const i = await sysInfo(front.address);
      const slow = channelOf(i, 'slow');
      const done = channelOf(i, DEFAULT_CHANNEL);
      return slow?.running === 2 &&
        done !== undefined &&
        done.completed_per_second >= 4 / 60 - 1e-9 &&
        i.dead_letters === 1
        ? i
        : undefined;
    });
    expect(info.storage_type).toBe('Scalable');
    expect(info.processes.map((p) => [p.kind, p.pid])).toEqual([
      ['grpc-front', front.child.pid],
      ...workers.map((w) => ['worker', w.child.pid]),
    ]);
    expect(info.processes[0]!.channels).toEqual([]);
    for (const w of info.processes.slice(1)) {
      expect(w.channels).toEqual([
        { name: DEFAULT_CHANNEL, concurrency: 2 },
        { name: 'slow', concurrency: 1 },
      ]);
    }
    // each process issues job ids from a node id of its own
    expect(new Set(info.processes.map((p) => p.node_id)).size).toBe(3);
    expect(channelOf(info, 'slow')).toMatchObject({ waiting: 2, running: 2 });
    expect(channelOf(info, 'nobody')).toMatchObject({ waiting: 2, running: 0 });
    expect(channelOf(info, DEFAULT_CHANNEL)).toMatchObject({ waiting: 0, running: 0 });
    expect(channelOf(info, DEFAULT_CHANNEL)!.completed_per_second).toBeCloseTo(4 / 60, 3);
    expect(info).toMatchObject({ delayed_jobs: 2, periodic_jobs: 1, dead_letters: 1, schedules: 1 });

    const killed = workers[1]!;
    const killedAt = Date.now();
    killed.child.kill('SIGKILL');
    const after = await waitFor(
      'the killed worker to leave the list',
      async () => {
        const i = await sysInfo(front.address);
        return i.processes.some((p) => p.pid === killed.child.pid) ? undefined : i;
      },
      10_000,
    );
    // gone within the timeout after its last heartbeat (plus a sys-info call's time on a loaded machine)
    expect(Date.now() - killedAt).toBeLessThan(TIMEOUT_MS + 5_000);
    expect(after.processes.map((p) => [p.kind, p.pid])).toEqual([
      ['grpc-front', front.child.pid],
      ['worker', workers[0]!.child.pid],
    ]);

    // a graceful stop leaves the list at once
    await workers[0]!.stop(2_000);
    const left = await sysInfo(front.address);
    expect(left.processes.map((p) => p.kind)).toEqual(['grpc-front']);
  });
});
