/**
 * Cron schedules with real processes: a `*\/2 * * * * *` schedule fires exactly once every 2 s, on Standalone (one
 * all-in-one, also loading a cron file with a bad line) and on Scalable (2 grpc-fronts and 2 workers, each running a
 * scheduler, one front and one worker SIGKILLed on the way); a tick due while the only process was down follows the
 * schedule's missed-tick policy at the restart. Ticks are counted from the stored results: each job's
 * enqueue_time is the moment its tick fired.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { credentials } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { JobResult, ScheduleData } from '../../libs/proto/src/index.js';
import {
  MissedTickPolicy,
  OverlapPolicy,
  Priority,
  ScheduleOrigin,
  ScheduleServiceClient,
} from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect, grpcError } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

const scheduleData = (over: Partial<ScheduleData>): ScheduleData => ({
  name: 'every-2s',
  cron: '*/2 * * * * *',
  timeZone: '',
  workerId: undefined,
  workerName: undefined,
  args: commandArgs(),
  priority: Priority.PRIORITY_MEDIUM,
  uniqKey: undefined,
  timeout: 0,
  missedTick: MissedTickPolicy.MISSED_TICK_SKIP,
  overlap: OverlapPolicy.OVERLAP_ALLOW,
  ...over,
});

/** The stored results of a worker, by the second their tick fired (enqueue_time, rounded down). */
async function ticksOf(clients: Clients, workerId: number): Promise<number[]> {
  const results: JobResult[] = await collect(clients.jobResult.findList({}));
  return results
    .filter((r) => r.data?.workerId?.value === workerId)
    .map((r) => Math.floor(r.data!.enqueueTime / 1000) * 1000)
    .sort((a, b) => a - b);
}

/** Every tick fired once, 2 s apart, without a gap, from `from` to `to`. */
function expectEveryTwoSeconds(ticks: number[], from: number, to: number): void {
  const inWindow = ticks.filter((t) => t >= from && t <= to);
  expect(new Set(ticks).size, `a tick fired twice: ${ticks.join(', ')}`).toBe(ticks.length);
  for (const t of ticks) expect(t % 2000).toBe(0);
  const expected: number[] = [];
  for (let t = Math.ceil(from / 2000) * 2000; t <= to; t += 2000) expected.push(t);
  expect(inWindow).toEqual(expected);
}

const scheduleClient = (address: string): ScheduleServiceClient =>
  new ScheduleServiceClient(address, credentials.createInsecure());

describe('Standalone: one all-in-one', () => {
  let server: ServerProcess | undefined;
  const cronDir = mkdtempSync(join(tmpdir(), 'jw-cron-'));
  afterAll(async () => {
    await server?.stop();
    rmSync(cronDir, { recursive: true, force: true });
  });

  it('fires a */2 schedule once every 2 s, loads a cron file with a bad line, and refuses bad schedules', async () => {
    const cronFile = join(cronDir, 'crontab');
    writeFileSync(
      cronFile,
      ['# poulpe-style cron file', '*/2 * * * * * * file-ticks {"args":[]}', '*/2 * * * * * file-ticks', ''].join('\n'),
    );
    server = await startServer({ env: { CRON_FILE: cronFile } });
    // one error naming the line; the process runs on
    const lineError = `cron file ${cronFile} line 3: expected `;
    for (let i = 0; i < 50 && !server.output().includes(lineError); i++) await sleep(100);
    expect(server.output()).toContain(lineError);
    expect(server.output()).toContain('found 7 fields (is the year missing? put * for every year)');
    const clients = connect(server.address);
    const schedules = scheduleClient(server.address);
    try {
      const api = (await call(clients.worker, 'create', commandWorkerData('api-ticks', 'true', { storeSuccess: true })))
        .id!.value;
      const file = (
        await call(clients.worker, 'create', commandWorkerData('file-ticks', 'true', { storeSuccess: true }))
      ).id!.value;
      const created = await call(schedules, 'create', scheduleData({ workerName: 'api-ticks' }));
      const from = Date.now() + 500;
      await sleep(11_000);
      const to = Date.now() - 500;

      // bad input, while the ticks go on
      const bad = async (data: Partial<ScheduleData>): Promise<[number | undefined, string]> => {
        const err = await grpcError(
          call(schedules, 'create', scheduleData({ name: 'bad', workerId: { value: api }, ...data })),
        );
        return [err.code, err.details];
      };
      expect(await bad({ cron: '*/2 * * *' })).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringMatching(/^cron expression "\*\/2 \* \* \*" is not valid: .*use 5 fields/),
      ]);
      expect(await bad({ cron: '0 61 * * * *' })).toEqual([status.INVALID_ARGUMENT, expect.stringContaining('minute')]);
      expect(await bad({ cron: '0 0 0 1 1 * 2001' })).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringContaining('names no time after now'),
      ]);
      expect(await bad({ timeZone: 'Moon/Base' })).toEqual([
        status.INVALID_ARGUMENT,
        'time zone "Moon/Base" is unknown; use an IANA name such as "UTC", "Europe/Paris" or "Asia/Tokyo"',
      ]);
      expect(await bad({ workerId: undefined, workerName: 'nobody' })).toEqual([
        status.NOT_FOUND,
        'worker "nobody" does not exist',
      ]);
      expect(await bad({ workerId: { value: 999_999 } })).toEqual([status.NOT_FOUND, 'worker 999999 does not exist']);
      expect(await bad({ args: Buffer.from([0xff, 0xff]) })).toEqual([
        status.INVALID_ARGUMENT,
        expect.stringContaining('args for worker "api-ticks"'),
      ]);
      expect(await bad({ name: 'every-2s' })).toEqual([
        status.ALREADY_EXISTS,
        'a schedule named "every-2s" already exists; pick another name',
      ]);

      // an update replaces the content and recomputes the next tick; the tick bookkeeping stays
      const before = (await call(schedules, 'find', created.id!)).data!;
      expect(before.lastJobId).toBeDefined();
      const moved = await call(schedules, 'update', {
        id: created.id,
        data: scheduleData({ workerName: 'api-ticks', cron: '0 0 0 1 1 * 2099', timeZone: 'Asia/Tokyo' }),
      });
      expect(moved.isSuccess).toBe(true);
      const after = (await call(schedules, 'find', created.id!)).data!;
      expect(after).toMatchObject({
        data: { cron: '0 0 0 1 1 * 2099', timeZone: 'Asia/Tokyo', workerName: 'api-ticks' },
        nextTickTime: Date.UTC(2098, 11, 31, 15),
      });
      // kept, not reset: the same tick as read before the update, or one that fired between that read and the update
      expect(after.lastJobId).toBeDefined();
      expect(after.lastTickTime).toBeGreaterThanOrEqual(before.lastTickTime!);
      if (after.lastTickTime === before.lastTickTime) expect(after.lastJobId).toEqual(before.lastJobId);
      const badUpdate = await grpcError(
        call(schedules, 'update', { id: created.id, data: scheduleData({ workerName: 'api-ticks', cron: '* * *' }) }),
      );
      expect(badUpdate.code).toBe(status.INVALID_ARGUMENT);
      const missing = await grpcError(call(schedules, 'update', { id: { value: 999_999 }, data: scheduleData({}) }));
      expect([missing.code, missing.details]).toEqual([status.NOT_FOUND, 'schedule 999999 does not exist']);

      await call(schedules, 'delete', created.id!);
      const list = await collect(schedules.findList({}));
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        origin: ScheduleOrigin.SCHEDULE_ORIGIN_FILE,
        data: { workerName: 'file-ticks' },
      });
      const fileDelete = await grpcError(call(schedules, 'delete', list[0]!.id!));
      expect([fileDelete.code, fileDelete.details]).toEqual([
        status.INVALID_ARGUMENT,
        `schedule ${list[0]!.id!.value} comes from the cron file (CRON_FILE); to delete it, edit that file`,
      ]);
      const fileUpdate = await grpcError(
        call(schedules, 'update', { id: list[0]!.id, data: scheduleData({ name: 'mine', workerName: 'file-ticks' }) }),
      );
      expect([fileUpdate.code, fileUpdate.details]).toEqual([
        status.INVALID_ARGUMENT,
        `schedule ${list[0]!.id!.value} comes from the cron file (CRON_FILE); to change it, edit that file`,
      ]);
      await sleep(1000);

      expectEveryTwoSeconds(await ticksOf(clients, api), from, to);
      // the file's line waited for its worker (created after the start) and fires from then on
      const fileTicks = await ticksOf(clients, file);
      expect(fileTicks.length).toBeGreaterThanOrEqual(4);
      expectEveryTwoSeconds(fileTicks, fileTicks[0]!, to);
    } finally {
      schedules.close();
      clients.close();
    }
  }, 60_000);
});

describe('Standalone: a tick due while the process was down', () => {
  let server: ServerProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'jw-missed-'));
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is fired once at the restart with run-once, and dropped with skip', async () => {
    server = await startServer({ dataDir });
    let clients = connect(server.address);
    let schedules = scheduleClient(server.address);
    const workerId = (await call(clients.worker, 'create', commandWorkerData('missed', 'true', { storeSuccess: true })))
      .id!;
    // a daily tick 4 s from now, which no process will be up to fire
    const tick = Math.ceil(Date.now() / 1000) * 1000 + 4000;
    const at = new Date(tick);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    const once = await call(
      schedules,
      'create',
      scheduleData({ name: 'once', cron, workerId, missedTick: MissedTickPolicy.MISSED_TICK_RUN_ONCE }),
    );
    const skip = await call(schedules, 'create', scheduleData({ name: 'skip', cron, workerId }));
    schedules.close();
    clients.close();
    server.child.kill('SIGKILL');
    await new Promise((resolve) => server!.child.once('exit', resolve));
    // back well after the tick: it is older than the 5 s after which a tick counts as missed
    await sleep(tick + 7000 - Date.now());
    server = await startServer({ dataDir });
    clients = connect(server.address);
    schedules = scheduleClient(server.address);
    try {
      await sleep(1500);
      const [afterOnce, afterSkip] = [
        (await call(schedules, 'find', once.id!)).data!,
        (await call(schedules, 'find', skip.id!)).data!,
      ];
      expect(afterOnce).toMatchObject({ lastTickTime: tick, nextTickTime: tick + 86_400_000 });
      expect(afterSkip).toMatchObject({ lastTickTime: tick, nextTickTime: tick + 86_400_000, lastJobId: undefined });
      const results: JobResult[] = await collect(clients.jobResult.findList({}));
      expect(results.map((r) => r.data?.jobId?.value)).toEqual([afterOnce.lastJobId!.value]);
    } finally {
      schedules.close();
      clients.close();
    }
  }, 60_000);
});

describe('Scalable: 2 fronts and 2 workers, each running a scheduler', () => {
  let db: { name: string; drop(): Promise<void> } | undefined;
  const processes: ServerProcess[] = [];
  const keyPrefix = `jwtest-${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await db?.drop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, keyPrefix);
  });

  it('fires a */2 schedule once every 2 s across all processes, and a SIGKILLed front and worker lose no tick', async () => {
    db = await tempMariaDatabase();
    const env = { ...scalableEnv(db.name, keyPrefix), JOB_LEASE_MS: '3000', SHUTDOWN_GRACE_PERIOD_MS: '500' };
    const fronts = [await startServer({ app: 'grpc-front', env }), await startServer({ app: 'grpc-front', env })];
    const workers = [await startServer({ app: 'worker', env }), await startServer({ app: 'worker', env })];
    processes.push(...fronts, ...workers);
    const clients = connect(fronts[1]!.address);
    const schedules = scheduleClient(fronts[0]!.address);
    try {
      const workerId = (
        await call(clients.worker, 'create', commandWorkerData('ticks', 'true', { storeSuccess: true }))
      ).id!;
      await call(schedules, 'create', scheduleData({ workerId }));
      const from = Date.now() + 500;
      // between two ticks (at an odd second and a half), a front and a worker die
      await sleep(4000 + ((3500 - (Date.now() % 2000)) % 2000));
      fronts[0]!.child.kill('SIGKILL');
      workers[0]!.child.kill('SIGKILL');
      await sleep(7000);
      const to = Date.now() - 500;
      await call(
        scheduleClient(fronts[1]!.address),
        'delete',
        (await call(scheduleClient(fronts[1]!.address), 'findByName', { name: 'every-2s' })).data!.id!,
      );
      // a job the killed worker held is run again once its lease (3 s) ends
      await sleep(4000);
      expectEveryTwoSeconds(await ticksOf(clients, workerId.value), from, to);
    } finally {
      schedules.close();
      clients.close();
    }
  }, 90_000);
});
