/**
 * The scheduler over a real SQLite database: rounds driven by hand with a chosen clock for the policies, and two
 * schedulers sharing one database file (two processes) for "once per tick".
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysqlPromise from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, Schedule, ScheduleSpec, Worker } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  NO_RETRY,
  Priority,
  QueueType,
  ResponseType,
  silentLogger,
  TimeOrderedIdGenerator,
} from '../../core/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openMysqlStorage, openSqliteStorage } from '../../storage/src/index.js';
import type { SchedulerDeps } from './scheduler.js';
import { Scheduler } from './scheduler.js';

let dir: string;
let storage: Storage;
let worker: Worker;

const spec = (over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  name: 's',
  cron: '*/10 * * * * *',
  timeZone: 'UTC',
  workerId: undefined,
  workerName: 'w',
  args: Uint8Array.of(1, 2),
  priority: Priority.PRIORITY_HIGH,
  uniqKey: undefined,
  timeout: 500,
  missedTick: 'skip',
  overlap: 'allow',
  origin: 'api',
  ...over,
});

/** Deps over `storage` that record the jobs enqueued. */
function depsOf(db: Storage, enqueued: Job[], over: Partial<SchedulerDeps> = {}): SchedulerDeps {
  return {
    schedules: db.schedules,
    findWorker: async (ref) =>
      ref.workerName !== undefined ? db.workers.findByName(ref.workerName) : db.workers.find(ref.workerId ?? 0),
    enqueue: async (job) => void enqueued.push(job),
    ids: new TimeOrderedIdGenerator(1),
    isUnfinished: async () => false,
    logger: silentLogger,
    ...over,
  };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-scheduler-'));
  storage = await openSqliteStorage({ path: join(dir, 'db.sqlite3') });
  await storage.migrate();
  worker = await storage.workers.create({
    name: 'w',
    runnerId: 1,
    runnerSettings: new Uint8Array(),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    storeFailure: false,
    nextWorkers: [],
    useStatic: false,
  });
});

afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('a round', () => {
  it('fires a due tick once with the schedule’s job, and moves to the next tick', async () => {
    const s = await storage.schedules.create(spec(), T0);
    const jobs: Job[] = [];
    const scheduler = new Scheduler(depsOf(storage, jobs, { now: () => T0 + 20 }));
    expect(await scheduler.round()).toBe(T0 + 1020);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      workerId: worker.id,
      priority: Priority.PRIORITY_HIGH,
      timeout: 500,
      runAfterTime: 0,
      retried: 0,
    });
    expect(Array.from(jobs[0]!.args)).toEqual([1, 2]);
    expect(await storage.schedules.find(s.id)).toMatchObject({
      nextTickTime: T0 + 10_000,
      lastTickTime: T0,
      lastJobId: jobs[0]!.id,
    });
    // the same tick is not fired again
    await scheduler.round();
    expect(jobs).toHaveLength(1);
  });

  it('wakes to prepare the tick after the one it fired, so lateness never adds up', async () => {
    await storage.schedules.create(spec({ cron: '* * * * * *' }), T0);
    const jobs: Job[] = [];
    const scheduler = new Scheduler(depsOf(storage, jobs, { now: () => T0 + 20 }), { prepareMs: 150 });
    expect(await scheduler.round()).toBe(T0 + 1000 - 150);
    expect(jobs).toHaveLength(1);
  });

  it('wakes to prepare the earliest tick within the refresh period', async () => {
    await storage.schedules.create(spec(), T0 + 300);
    const scheduler = new Scheduler(depsOf(storage, [], { now: () => T0 }), { prepareMs: 100 });
    expect(await scheduler.round()).toBe(T0 + 200);
  });

  it('claims a tick it prepared ahead only once the tick’s time has come', async () => {
    // far enough ahead for a loaded machine to read and look up before it
    const tick = Date.now() + 1500;
    const s = await storage.schedules.create(spec(), tick);
    const jobs: Job[] = [];
    const looked: number[] = [];
    const scheduler = new Scheduler(
      depsOf(storage, jobs, {
        findWorker: async () => {
          looked.push(Date.now());
          return worker;
        },
      }),
      { prepareMs: 3000, refreshMs: 5000 },
    );
    await scheduler.round();
    expect(jobs).toHaveLength(1);
    // the worker was looked up before the tick; the job was made at or after it
    expect(looked[0]).toBeLessThan(tick);
    expect(jobs[0]!.enqueueTime).toBeGreaterThanOrEqual(tick);
    expect(await storage.schedules.find(s.id)).toMatchObject({ lastTickTime: tick, lastJobId: jobs[0]!.id });
  });

  it('skips missed ticks with policy skip, and fires one for them with run-once', async () => {
    const down = T0 - 60_000;
    const skip = await storage.schedules.create(spec({ name: 'skip' }), down);
    const once = await storage.schedules.create(spec({ name: 'once', missedTick: 'run-once' }), down);
    const jobs: Job[] = [];
    // 4 s after the tick of T0: the newest due tick is T0, 4 s old, and older ones were missed
    await new Scheduler(depsOf(storage, jobs, { now: () => T0 + 4000 })).round();
    expect(jobs).toHaveLength(2);
    jobs.length = 0;
    // back after 7 s: the newest due tick (T0 + 10 s) is missed too
    await storage.schedules.delete(skip.id);
    await storage.schedules.delete(once.id);
    const skip2 = await storage.schedules.create(spec({ name: 'skip' }), down);
    const once2 = await storage.schedules.create(spec({ name: 'once', missedTick: 'run-once' }), down);
    await new Scheduler(depsOf(storage, jobs, { now: () => T0 + 17_000 })).round();
    expect(jobs).toHaveLength(1);
    expect(await storage.schedules.find(once2.id)).toMatchObject({ lastTickTime: T0 + 10_000, lastJobId: jobs[0]!.id });
    expect(await storage.schedules.find(skip2.id)).toMatchObject({
      lastTickTime: T0 + 10_000,
      nextTickTime: T0 + 20_000,
      lastJobId: undefined,
    });
  });

  it('skips a tick while the previous job is unfinished with overlap skip, keeping that job', async () => {
    const allow = await storage.schedules.create(spec({ name: 'allow' }), T0);
    const skip = await storage.schedules.create(spec({ name: 'skip', overlap: 'skip' }), T0);
    for (const s of [allow, skip]) {
      await storage.schedules.claimTick({
        id: s.id,
        expectedNextTickTime: T0,
        tickTime: T0,
        nextTickTime: T0 + 10_000,
        jobId: 42,
      });
    }
    const jobs: Job[] = [];
    const unfinished = new Set([42]);
    const scheduler = new Scheduler(
      depsOf(storage, jobs, { now: () => T0 + 10_010, isUnfinished: async (id) => unfinished.has(id) }),
    );
    await scheduler.round();
    expect(jobs.map((j) => j.id)).toEqual([(await storage.schedules.find(allow.id))!.lastJobId]);
    expect(await storage.schedules.find(skip.id)).toMatchObject({ lastJobId: 42, nextTickTime: T0 + 20_000 });
  });

  it('consumes a tick whose worker is missing or refuses the job (uniq_key held), without failing', async () => {
    const gone = await storage.schedules.create(spec({ name: 'gone', workerName: 'nobody' }), T0);
    const held = await storage.schedules.create(spec({ name: 'held', uniqKey: 'k' }), T0);
    const scheduler = new Scheduler(
      depsOf(storage, [], {
        now: () => T0 + 5,
        enqueue: async () => {
          throw new AlreadyExistsError('a job with uniq_key "k" is not finished yet');
        },
      }),
    );
    await scheduler.round();
    for (const s of [gone, held]) {
      expect(await storage.schedules.find(s.id)).toMatchObject({ lastTickTime: T0, nextTickTime: T0 + 10_000 });
    }
  });

  it('stops a schedule whose expression names no later time', async () => {
    const s = await storage.schedules.create(spec({ cron: '0 0 12 1 1 * 2026' }), Date.UTC(2026, 0, 1, 12));
    const jobs: Job[] = [];
    await new Scheduler(depsOf(storage, jobs, { now: () => Date.UTC(2026, 0, 1, 12, 0, 1) })).round();
    expect(jobs).toHaveLength(1);
    expect(await storage.schedules.find(s.id)).toMatchObject({ nextTickTime: 0 });
    expect(await storage.schedules.findDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});

describe('two schedulers on one database', () => {
  it('fire each tick of an every-second schedule exactly once between them', async () => {
    const other = await openSqliteStorage({ path: join(dir, 'db.sqlite3') });
    const fired: Array<{ by: string; schedule: Schedule; tick: number }> = [];
    const start = Date.now();
    await storage.schedules.create(spec({ cron: '* * * * * *' }), Math.ceil(start / 1000) * 1000);
    const make = (db: Storage, by: string): Scheduler =>
      new Scheduler(depsOf(db, [], { onFired: (schedule, tick) => fired.push({ by, schedule, tick }) }), {
        refreshMs: 200,
      });
    const a = make(storage, 'a');
    const b = make(other, 'b');
    try {
      a.start();
      b.start();
      expect(a.state).toBe('running');
      await sleep(3500);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await other.close();
    }
    expect(a.state).toBe('stopped');
    const ticks = fired.map((f) => f.tick);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const [i, tick] of ticks.entries()) {
      expect(tick % 1000).toBe(0);
      if (i > 0) expect(tick - ticks[i - 1]!).toBe(1000);
    }
  });
});

describe('the firing lease', () => {
  const LEASE = 3000;
  const lost = (): Promise<never> => Promise.reject(new Error('the queue connection was lost'));
  const leaseOf = async (id: number): Promise<unknown> =>
    (await storage.schedules.findDue(Number.MAX_SAFE_INTEGER, 10)).find((s) => s.id === id)?.firing;

  it('is cleared once the job is enqueued: a tick is enqueued once, by one of the schedulers', async () => {
    const s = await storage.schedules.create(spec(), T0);
    const jobs: Job[] = [];
    const a = new Scheduler(depsOf(storage, jobs, { now: () => T0 + 20 }), { leaseMs: LEASE });
    const b = new Scheduler(depsOf(storage, jobs, { now: () => T0 + 20 + LEASE + 1 }), { leaseMs: LEASE });
    await Promise.all([a.round(), b.round()]);
    await b.round();
    expect(jobs).toHaveLength(1);
    expect(await leaseOf(s.id)).toBeUndefined();
  });

  it('lets another scheduler enqueue the same job once the lease of a claimer that never enqueued expires', async () => {
    const s = await storage.schedules.create(spec({ uniqKey: 'nightly' }), T0);
    const jobs: Job[] = [];
    const fired: number[] = [];
    // A claims the tick of T0 and its enqueue fails, as if its process died there
    const a = new Scheduler(depsOf(storage, [], { now: () => T0 + 20, enqueue: lost }), { leaseMs: LEASE });
    await a.round();
    const claimed = await storage.schedules.find(s.id);
    expect(claimed).toMatchObject({ lastTickTime: T0, nextTickTime: T0 + 10_000 });
    expect(await leaseOf(s.id)).toEqual({ jobId: claimed!.lastJobId, tickTime: T0, until: T0 + 20 + LEASE });
    let now = T0 + 2500;
    const b = new Scheduler(
      depsOf(storage, jobs, {
        now: () => now,
        onFired: (_, tick) => fired.push(tick),
        ids: new TimeOrderedIdGenerator(2),
      }),
      { leaseMs: LEASE },
    );
    // before the deadline B leaves it alone, and wakes at the deadline
    expect(await b.round()).toBe(T0 + 20 + LEASE);
    expect(jobs).toHaveLength(0);
    now = T0 + 20 + LEASE;
    await b.round();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      id: claimed!.lastJobId,
      workerId: worker.id,
      uniqKey: 'nightly',
      priority: Priority.PRIORITY_HIGH,
      timeout: 500,
    });
    expect(Array.from(jobs[0]!.args)).toEqual([1, 2]);
    expect(fired).toEqual([T0]);
    expect(await leaseOf(s.id)).toBeUndefined();
    // the tick is not fired a third time, and the next one goes on as usual
    await b.round();
    expect(jobs).toHaveLength(1);
    now = T0 + 10_005;
    await b.round();
    expect(jobs).toHaveLength(2);
    expect(fired).toEqual([T0, T0 + 10_000]);
  });

  it('holds the later ticks of the schedule while the lease is pending', async () => {
    const s = await storage.schedules.create(spec({ cron: '* * * * * *' }), T0);
    await new Scheduler(depsOf(storage, [], { now: () => T0 + 5, enqueue: lost }), { leaseMs: LEASE }).round();
    const jobs: Job[] = [];
    let now = T0 + 1005;
    const b = new Scheduler(depsOf(storage, jobs, { now: () => now }), { leaseMs: LEASE });
    await b.round();
    expect(jobs).toHaveLength(0);
    expect(await storage.schedules.find(s.id)).toMatchObject({ lastTickTime: T0, nextTickTime: T0 + 1000 });
    // past the deadline: the leased tick, then (the next round, at once) the newest due one
    now = T0 + 5 + LEASE;
    expect(await b.round()).toBeLessThanOrEqual(now);
    await b.round();
    expect(jobs).toHaveLength(2);
    expect(await storage.schedules.find(s.id)).toMatchObject({ lastTickTime: T0 + 3000, lastJobId: jobs[1]!.id });
  });

  it('does not enqueue again a job that has a status (its claimer died after the enqueue)', async () => {
    const s = await storage.schedules.create(spec(), T0);
    const enqueued: Job[] = [];
    // A enqueues, then cannot clear the lease
    const a = new Scheduler(
      depsOf(storage, enqueued, {
        now: () => T0 + 20,
        schedules: {
          findDue: (before, limit) => storage.schedules.findDue(before, limit),
          claimTick: (claim) => storage.schedules.claimTick(claim),
          takeOverFiring: (id, lease, until) => storage.schedules.takeOverFiring(id, lease, until),
          clearFiring: () => Promise.reject(new Error('the database went away')),
        },
      }),
      { leaseMs: LEASE },
    );
    await a.round();
    expect(enqueued).toHaveLength(1);
    expect(await leaseOf(s.id)).toMatchObject({ jobId: enqueued[0]!.id });
    const again: Job[] = [];
    const unfinished = new Set([enqueued[0]!.id]);
    await new Scheduler(
      depsOf(storage, again, { now: () => T0 + 20 + LEASE, isUnfinished: async (id) => unfinished.has(id) }),
      { leaseMs: LEASE },
    ).round();
    expect(again).toHaveLength(0);
    expect(await leaseOf(s.id)).toBeUndefined();
  });

  it('drops a leased tick missed with policy skip, and enqueues it with run-once', async () => {
    const skip = await storage.schedules.create(spec({ name: 'skip' }), T0);
    const once = await storage.schedules.create(spec({ name: 'once', missedTick: 'run-once' }), T0);
    await new Scheduler(depsOf(storage, [], { now: () => T0, enqueue: lost }), { leaseMs: LEASE }).round();
    const jobs: Job[] = [];
    // every process was down for a minute after the lease expired
    await new Scheduler(depsOf(storage, jobs, { now: () => T0 + LEASE + 60_000 }), { leaseMs: LEASE }).round();
    expect(jobs.map((j) => j.id)).toEqual([(await storage.schedules.find(once.id))!.lastJobId]);
    expect(await leaseOf(skip.id)).toBeUndefined();
    expect(await leaseOf(once.id)).toBeUndefined();
  });

  it('keeps the lease when the enqueue of a taken-over tick fails, for the next scheduler to try', async () => {
    const s = await storage.schedules.create(spec(), T0);
    await new Scheduler(depsOf(storage, [], { now: () => T0, enqueue: lost }), { leaseMs: LEASE }).round();
    const jobId = (await storage.schedules.find(s.id))!.lastJobId;
    await new Scheduler(depsOf(storage, [], { now: () => T0 + LEASE, enqueue: lost }), { leaseMs: LEASE }).round();
    expect(await leaseOf(s.id)).toEqual({ jobId, tickTime: T0, until: T0 + 2 * LEASE });
    const jobs: Job[] = [];
    await new Scheduler(depsOf(storage, jobs, { now: () => T0 + 2 * LEASE }), { leaseMs: LEASE }).round();
    expect(jobs.map((j) => j.id)).toEqual([jobId]);
  });
});

describe('a claimer that dies between the claim and the enqueue', () => {
  it('leaves its tick to a scheduler of another process, which enqueues it once the lease expires', async () => {
    const other = await openSqliteStorage({ path: join(dir, 'db.sqlite3') });
    const s = await storage.schedules.create(spec({ cron: '0 0 0 1 1 * 2099' }), Date.now());
    // A's enqueue never ends: it claimed the tick and hangs there until its storage is closed under it
    let claimed!: (job: Job) => void;
    const claim = new Promise<Job>((resolve) => (claimed = resolve));
    const a = new Scheduler(
      depsOf(other, [], { enqueue: (job) => (claimed(job), new Promise<never>(() => undefined)) }),
      { leaseMs: 300 },
    );
    void a.round();
    const lostJob = await claim;
    await other.close();
    let firedJob!: (job: Job) => void;
    const fired = new Promise<Job>((resolve) => (firedJob = resolve));
    const b = new Scheduler(
      depsOf(storage, [], {
        ids: new TimeOrderedIdGenerator(2),
        onFired: (_, tick, job) => firedJob({ ...job, enqueueTime: tick }),
      }),
      { leaseMs: 300, refreshMs: 100 },
    );
    b.start();
    try {
      const job = await fired;
      expect(job.id).toBe(lostJob.id);
      expect(job.enqueueTime).toBe(s.nextTickTime);
    } finally {
      await b.stop();
    }
    expect((await storage.schedules.findDue(Number.MAX_SAFE_INTEGER, 10)).map((d) => d.firing)).toEqual([undefined]);
  });
});

describe('the firing lease on MariaDB (127.0.0.1:3306, a database of its own)', () => {
  it('lets a scheduler of another process enqueue the job a dead claimer left, once', async () => {
    const server = { host: '127.0.0.1', port: 3306, user: 'root', password: undefined };
    const database = `jw_sched_${randomBytes(6).toString('hex')}`;
    const open = (): Promise<Storage> => openMysqlStorage({ ...server, database, poolSize: 2 });
    const a = await open();
    const b = await open();
    try {
      await a.migrate();
      await a.workers.create({ ...(await storage.workers.findByName('w'))!, name: 'w' });
      const s = await a.schedules.create(spec(), T0);
      const lost = (): Promise<never> => Promise.reject(new Error('the process died here'));
      await new Scheduler(depsOf(a, [], { now: () => T0 + 20, enqueue: lost }), { leaseMs: 3000 }).round();
      const claimed = await b.schedules.find(s.id);
      expect(claimed).toMatchObject({ lastTickTime: T0, nextTickTime: T0 + 10_000 });
      const jobs: Job[] = [];
      const fired: number[] = [];
      const rescuers = [b, a].map(
        (db) =>
          new Scheduler(depsOf(db, jobs, { now: () => T0 + 3020, onFired: (_, tick) => fired.push(tick) }), {
            leaseMs: 3000,
          }),
      );
      // both see the expired lease at once: one takes it over
      await Promise.all(rescuers.map((r) => r.round()));
      expect(jobs.map((j) => j.id)).toEqual([claimed!.lastJobId]);
      expect(fired).toEqual([T0]);
      expect((await b.schedules.findDue(Number.MAX_SAFE_INTEGER, 10))[0]?.firing).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
      const conn = await mysqlPromise.createConnection(server);
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.end();
    }
  });
});
