/**
 * Fires the ticks of cron schedules: each tick enqueues one job, once across the cluster.
 *
 * Every process that has the RDB runs a Scheduler (all-in-one, grpc-front, worker). They share no lock and elect no
 * leader: a tick is claimed in the RDB by a conditional update of the schedule's next_tick_time
 * (ScheduleRepository.claimTick), which exactly one process wins; the others see their update change nothing and
 * move on. So ticks go on as long as one process lives.
 *
 * Firing lease: the claim of a tick that enqueues a job also records, on the schedule row, the job's id (taken before
 * the claim), the tick and a deadline `leaseMs` ahead; the process clears it once the job is enqueued. A process
 * killed between the claim and the enqueue (or whose enqueue failed) leaves the lease behind; once it has expired,
 * any scheduler takes it over (a conditional update only one wins) and enqueues the same job: same id, tick, args,
 * priority, uniq_key and timeout. While a lease is pending the schedule's later ticks wait. So a SIGKILLed process
 * loses no tick: each is enqueued at least once. It is enqueued twice only if its process died after the enqueue
 * and before clearing the lease (a few milliseconds) and the job also finished before the lease expired; a job still
 * queued or running is seen by its status and not enqueued again (or if an enqueue outlasts the lease).
 *
 * A tick whose time passed while no process could fire it (all were down, or the database was) is a missed tick:
 * when the schedule's newest due tick is more than `missedAfterMs` old, policy `skip` drops it and `run-once` fires
 * one job for all the ticks missed. Either way the schedule goes on from its first tick after now. A leased tick is
 * missed the same way when its lease expired more than `missedAfterMs` ago.
 *
 * Overlap: policy `skip` drops a tick while the job of the previous tick (last_job_id) is unfinished (it still has a
 * job status); `allow` always enqueues. A schedule with a uniq_key also never has two unfinished jobs: its tick fails
 * to enqueue (the key is held) and is logged as skipped. A leased tick was past these checks when it was claimed.
 *
 * State machine: 'idle' → start() → 'running' → stop() → 'stopped'. While running, one loop reads the schedules due
 * within `refreshMs`, fires those due within `prepareMs` (each waits for its tick's time after looking its worker up,
 * so that the claim and the enqueue alone follow the tick), and sleeps until `prepareMs` before the earliest next
 * tick, or until the earliest lease deadline (or `refreshMs`, to see schedules other processes created); wake() cuts
 * the sleep short after a local change. Errors back off for `refreshMs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CronTicks, IdGenerator, Job, Logger, Schedule, Worker } from '../../core/src/index.js';
import { AlreadyExistsError, coerceError, parseCron } from '../../core/src/index.js';
import type { DueSchedule, FiringLease, ScheduleRepository } from '../../storage/src/index.js';

export type SchedulerState = 'idle' | 'running' | 'stopped';

export interface SchedulerOptions {
  /**
   * How often the RDB is read for schedules changed by other processes, and how far ahead.
   * @default 1000
   */
  readonly refreshMs?: number;
  /**
   * A due tick older than this is a missed tick (see the missed-tick policies).
   * @default 5000
   */
  readonly missedAfterMs?: number;
  /**
   * The most schedules read per round.
   * @default 500
   */
  readonly batch?: number;
  /**
   * How long a claimed tick's firing lease lasts: past it, the process that claimed the tick is taken for dead and
   * another one enqueues the tick's job. Longer than any enqueue should take; the schedule's later ticks wait for it.
   * @default 5000
   */
  readonly leaseMs?: number;
  /**
   * How long before a tick the scheduler wakes to read the schedule and look its worker up, so that at the tick only
   * the claim and the enqueue remain.
   * @default 200
   */
  readonly prepareMs?: number;
}

export interface SchedulerDeps {
  readonly schedules: Pick<ScheduleRepository, 'findDue' | 'claimTick' | 'takeOverFiring' | 'clearFiring'>;
  /** The worker a schedule names, by id or by name; undefined when there is none. */
  readonly findWorker: (ref: Pick<Schedule, 'workerId' | 'workerName'>) => Promise<Worker | undefined>;
  /** Enqueues a job the way Enqueue does (the job router). */
  readonly enqueue: (job: Job, worker: Worker) => Promise<unknown>;
  readonly ids: IdGenerator;
  /** Whether a job is unfinished (it has a job status): the overlap policy `skip` asks about the previous tick's job. */
  readonly isUnfinished: (jobId: number) => Promise<boolean>;
  readonly logger: Logger;
  /**
   * told after each tick this process fired (its job enqueued, also when it took over another process's lease), with
   * the tick's time: for tests and measurements
   */
  readonly onFired?: (schedule: Schedule, tickTime: number, job: Job) => void;
  readonly now?: () => number;
}

/** What became of a tick this process claimed. */
type TickOutcome = 'fired' | 'missed' | 'overlap' | 'no-worker' | 'refused';

export class Scheduler {
  private stateValue: SchedulerState = 'idle';
  private readonly abort = new AbortController();
  private wakeUp: AbortController = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly refreshMs: number;
  private readonly missedAfterMs: number;
  private readonly batch: number;
  private readonly leaseMs: number;
  private readonly prepareMs: number;
  private readonly parsed = new Map<string, CronTicks>();

  constructor(
    private readonly deps: SchedulerDeps,
    options: SchedulerOptions = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? 1000;
    this.missedAfterMs = options.missedAfterMs ?? 5000;
    this.batch = options.batch ?? 500;
    this.leaseMs = options.leaseMs ?? 5000;
    this.prepareMs = options.prepareMs ?? 200;
  }

  get state(): SchedulerState {
    return this.stateValue;
  }

  start(): void {
    if (this.stateValue !== 'idle') throw new Error(`the scheduler cannot start: it is ${this.stateValue}`);
    this.stateValue = 'running';
    this.loop = this.run();
  }

  /** Reads the schedules again at once (a schedule was created or changed here). */
  wake(): void {
    this.wakeUp.abort();
  }

  /** Stops the loop after the round in progress; idempotent. */
  async stop(): Promise<void> {
    this.stateValue = 'stopped';
    this.abort.abort();
    await this.loop;
  }

  /**
   * One round: fires every tick due now and takes over every expired firing lease; returns when the next tick or lease
   * deadline is due (at most refreshMs ahead).
   */
  async round(): Promise<number> {
    const now = this.now();
    const horizon = now + this.refreshMs;
    const due = await this.deps.schedules.findDue(horizon, this.batch);
    let acted = 0;
    // a tick is prepared (read, its worker looked up) prepareMs before its time, then claimed at its time
    const ahead = (tickTime: number): number => (tickTime > 0 ? tickTime - this.prepareMs : 0);
    // for each schedule, when to look at it again: whoever won a claim wrote the same next tick
    const wakeAt = await Promise.all(
      due.map(async (s): Promise<number> => {
        if (s.firing !== undefined) {
          // its later ticks wait for the lease
          if (s.firing.until > now) return s.firing.until;
          acted++;
          return ahead(await this.recover(s, s.firing, now));
        }
        if (s.nextTickTime > now + this.prepareMs) return ahead(s.nextTickTime);
        acted++;
        return ahead(await this.tick(s));
      }),
    );
    // a full batch may hide more due schedules: go again at once
    if (acted === this.batch) return now;
    return Math.min(horizon, ...wakeAt.filter((t) => t > 0));
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      let wakeAt: number;
      try {
        wakeAt = await this.round();
      } catch (err) {
        this.deps.logger.warn(
          { err },
          `the scheduler could not read or claim schedules; trying again in ${this.refreshMs} ms`,
        );
        wakeAt = this.now() + this.refreshMs;
      }
      const delay = wakeAt - this.now();
      if (delay <= 0 || signal.aborted) continue;
      this.wakeUp = new AbortController();
      await sleep(delay, undefined, { signal: AbortSignal.any([signal, this.wakeUp.signal]) }).catch(() => undefined);
    }
  }

  /**
   * Claims and fires one due tick of a schedule; never throws (a failure is logged; a job that could not be enqueued
   * keeps its firing lease, and is enqueued again once the lease expires). Returns the schedule's next tick (0 when
   * unknown or none).
   */
  private async tick(schedule: Schedule): Promise<number> {
    const log = this.deps.logger;
    try {
      const { outcome, nextTickTime } = await this.claimAndFire(schedule);
      if (outcome !== undefined && outcome !== 'fired') {
        log.info({ schedule: schedule.name, outcome }, `schedule ${schedule.name}: tick not fired (${outcome})`);
      }
      return nextTickTime;
    } catch (err) {
      log.warn(
        { err: coerceError(err), schedule: schedule.name },
        `schedule ${schedule.name}: tick failed; a job it claimed is enqueued again once its firing lease expires`,
      );
      return 0;
    }
  }

  /** outcome undefined: another process claimed the tick first */
  private async claimAndFire(schedule: Schedule): Promise<{ outcome: TickOutcome | undefined; nextTickTime: number }> {
    const { schedules, ids } = this.deps;
    const ticks = this.ticksOf(schedule);
    if (ticks === undefined) {
      // an expression that no longer parses (stored by an older version): stop it rather than fail every round
      await schedules.claimTick({
        id: schedule.id,
        expectedNextTickTime: schedule.nextTickTime,
        tickTime: schedule.nextTickTime,
        nextTickTime: 0,
        jobId: undefined,
      });
      return { outcome: 'refused', nextTickTime: 0 };
    }
    // the worker is looked up before the tick (the round runs prepareMs ahead), so that only the claim and the
    // enqueue stand between the tick's time and its job
    const found = await this.deps.findWorker(schedule);
    const wait = schedule.nextTickTime - this.now();
    if (wait > 0) await sleep(wait, undefined, { signal: this.abort.signal }).catch(() => undefined);
    if (this.abort.signal.aborted) return { outcome: undefined, nextTickTime: 0 };
    const now = Math.max(this.now(), schedule.nextTickTime);
    const tickTime = Math.max(schedule.nextTickTime, ticks.latestAtOrBefore(now) ?? 0);
    const nextTickTime = ticks.nextAfter(now) ?? 0;
    let outcome: TickOutcome = 'fired';
    let worker: Worker | undefined;
    if (now - tickTime > this.missedAfterMs && schedule.missedTick === 'skip') outcome = 'missed';
    else if (schedule.overlap === 'skip' && schedule.lastJobId !== undefined) {
      if (await this.deps.isUnfinished(schedule.lastJobId)) outcome = 'overlap';
    }
    if (outcome === 'fired') {
      worker = found;
      if (worker === undefined) outcome = 'no-worker';
      else if (worker.periodicInterval > 0) outcome = 'refused';
    }
    // the id is taken before the claim: issuing it can fail (Scalable without a node id), and then nothing is claimed
    const jobId = outcome === 'fired' ? ids.next() : undefined;
    const lease: FiringLease | undefined =
      jobId === undefined ? undefined : { jobId, tickTime, until: this.now() + this.leaseMs };
    const won = await schedules.claimTick({
      id: schedule.id,
      expectedNextTickTime: schedule.nextTickTime,
      tickTime,
      nextTickTime,
      jobId,
      firingUntil: lease?.until,
    });
    const result = (o: TickOutcome | undefined): { outcome: TickOutcome | undefined; nextTickTime: number } => ({
      outcome: o,
      nextTickTime,
    });
    if (!won) return result(undefined);
    if (outcome === 'no-worker') {
      this.deps.logger.warn(
        { schedule: schedule.name },
        `schedule ${schedule.name}: worker ${describeWorker(schedule)} does not exist; the tick is skipped`,
      );
    }
    if (outcome === 'refused' && worker !== undefined) {
      this.deps.logger.warn(
        { schedule: schedule.name },
        `schedule ${schedule.name}: worker ${worker.name} is periodic (periodic_interval); a schedule cannot start periodic series`,
      );
    }
    if (lease === undefined || worker === undefined) return result(outcome);
    return result(await this.fire(schedule, worker, lease));
  }

  /**
   * Enqueues the job of a leased tick and clears the lease. A refused job (its uniq_key is held) clears it too; any
   * other failure throws and leaves the lease, to be taken over once it expires.
   */
  private async fire(schedule: Schedule, worker: Worker, lease: FiringLease): Promise<'fired' | 'overlap'> {
    const job: Job = {
      id: lease.jobId,
      workerId: worker.id,
      args: schedule.args,
      uniqKey: schedule.uniqKey,
      enqueueTime: this.now(),
      grabbedUntilTime: undefined,
      runAfterTime: 0,
      retried: 0,
      priority: schedule.priority,
      timeout: schedule.timeout,
    };
    try {
      await this.deps.enqueue(job, worker);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      await this.clear(schedule, lease);
      return 'overlap';
    }
    await this.clear(schedule, lease);
    this.deps.onFired?.(schedule, lease.tickTime, job);
    return 'fired';
  }

  /** Clears a lease; a failure is only logged (whoever takes the lease over sees the job's status and clears it). */
  private async clear(schedule: Schedule, lease: FiringLease): Promise<void> {
    try {
      await this.deps.schedules.clearFiring(schedule.id, lease);
    } catch (err) {
      this.deps.logger.warn(
        { err: coerceError(err), schedule: schedule.name },
        `schedule ${schedule.name}: could not clear the firing lease of job ${lease.jobId}`,
      );
    }
  }

  /**
   * Takes over an expired firing lease (its process died or failed between the claim and the enqueue) and enqueues
   * the job its claim named, unless that job is already enqueued (it has a status) or the tick is missed; never
   * throws. Returns when to look at the schedule again: its next tick, which waited for the lease.
   */
  private async recover(schedule: DueSchedule, expired: FiringLease, now: number): Promise<number> {
    const log = this.deps.logger;
    const name = schedule.name;
    const skipped = (outcome: TickOutcome | 'enqueued already'): void =>
      log.info(
        { schedule: name, jobId: expired.jobId, outcome },
        `schedule ${name}: the tick of job ${expired.jobId} left by another process is not fired again (${outcome})`,
      );
    try {
      const lease: FiringLease = { ...expired, until: now + this.leaseMs };
      if (!(await this.deps.schedules.takeOverFiring(schedule.id, expired, lease.until))) return schedule.nextTickTime;
      if (schedule.missedTick === 'skip' && now - expired.until > this.missedAfterMs) {
        await this.clear(schedule, lease);
        skipped('missed');
      } else if (await this.deps.isUnfinished(lease.jobId)) {
        await this.clear(schedule, lease);
        skipped('enqueued already');
      } else {
        const worker = await this.deps.findWorker(schedule);
        if (worker === undefined || worker.periodicInterval > 0) {
          await this.clear(schedule, lease);
          skipped(worker === undefined ? 'no-worker' : 'refused');
        } else {
          const outcome = await this.fire(schedule, worker, lease);
          if (outcome === 'fired') {
            log.info(
              { schedule: name, jobId: lease.jobId },
              `schedule ${name}: enqueued job ${lease.jobId} of the tick another process claimed and did not enqueue`,
            );
          } else skipped(outcome);
        }
      }
      return schedule.nextTickTime;
    } catch (err) {
      log.warn(
        { err: coerceError(err), schedule: name },
        `schedule ${name}: could not enqueue job ${expired.jobId} of an expired firing lease; trying again once the lease expires`,
      );
      return 0;
    }
  }

  private ticksOf(schedule: Schedule): CronTicks | undefined {
    const key = `${schedule.cron}\u0000${schedule.timeZone}`;
    let ticks = this.parsed.get(key);
    if (ticks === undefined) {
      try {
        ticks = parseCron(schedule.cron, schedule.timeZone);
      } catch (err) {
        this.deps.logger.error(
          { err, schedule: schedule.name },
          `schedule ${schedule.name}: its cron expression or time zone is not valid; it is stopped (fix it with an update)`,
        );
        return undefined;
      }
      if (this.parsed.size > 1000) this.parsed.clear();
      this.parsed.set(key, ticks);
    }
    return ticks;
  }
}

function describeWorker(s: Pick<Schedule, 'workerId' | 'workerName'>): string {
  return s.workerName !== undefined ? `"${s.workerName}"` : String(s.workerId);
}
