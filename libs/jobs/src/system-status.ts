/**
 * The system status an operator asks for (jobworkerp.ext.SystemService, `jobworkerp-client sys-info`), put together in
 * one place from what each part already knows: the live processes (ProcessRegistry heartbeats), the queue of each
 * channel (JobQueue.channelStats), what waits in the RDB (delayed jobs, periodic series), and the dead letters and
 * schedules. Every number is read at call time; nothing is cached, and no job's hot path pays for any of it.
 */
import type { DeadLetterFilter } from '../../core/src/index.js';
import type { ChannelStats, JobQueue, LiveProcess, ProcessRegistry } from '../../queue/src/index.js';
import type { JobRepository, ScheduleRepository } from '../../storage/src/index.js';

export interface SystemStatus {
  readonly version: string;
  /** of the process that answers, ms */
  readonly uptimeMs: number;
  readonly storageType: string;
  readonly processes: readonly LiveProcess[];
  /** every channel with jobs waiting, claimed or ended in the last minute, and every channel a live process serves */
  readonly channels: readonly ChannelStats[];
  readonly delayedJobs: number;
  readonly periodicJobs: number;
  readonly deadLetters: number;
  readonly schedules: number;
  /** when it was read, epoch ms */
  readonly time: number;
}

export interface SystemStatusDeps {
  readonly queue: Pick<JobQueue, 'channelStats'>;
  readonly processes: Pick<ProcessRegistry, 'list'>;
  readonly jobs: Pick<JobRepository, 'countDelayed' | 'countPeriodic'>;
  readonly schedules: Pick<ScheduleRepository, 'count'>;
  readonly deadLetters: { count(filter: DeadLetterFilter): Promise<number> };
  readonly version: string;
  readonly storageType: string;
  /** when this process started, epoch ms */
  readonly startTime: number;
  readonly now?: (() => number) | undefined;
}

export class SystemStatusReader {
  private readonly now: () => number;

  constructor(private readonly deps: SystemStatusDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Reads every part at once; a part that fails fails the whole read (a status with a hole would mislead). */
  async read(): Promise<SystemStatus> {
    const { deps } = this;
    const now = this.now();
    const [processes, channels, delayedJobs, periodicJobs, deadLetters, schedules] = await Promise.all([
      deps.processes.list(),
      deps.queue.channelStats(),
      deps.jobs.countDelayed(now),
      deps.jobs.countPeriodic(),
      deps.deadLetters.count({}),
      deps.schedules.count(),
    ]);
    return {
      version: deps.version,
      uptimeMs: Math.max(0, now - deps.startTime),
      storageType: deps.storageType,
      processes,
      channels: withServedChannels(channels, processes),
      delayedJobs,
      periodicJobs,
      deadLetters,
      schedules,
      time: now,
    };
  }
}

/**
 * Adds the channels live processes serve that the queue did not report: the queue reports every channel that holds
 * anything, so those have nothing waiting, claimed or ended lately. Ordered by name.
 */
function withServedChannels(channels: readonly ChannelStats[], processes: readonly LiveProcess[]): ChannelStats[] {
  const byName = new Map(channels.map((stats) => [stats.channel, stats]));
  for (const process of processes) {
    for (const { name } of process.channels) {
      if (!byName.has(name)) {
        byName.set(name, { channel: name, waiting: 0, running: 0, oldestWaitingMs: 0, completedPerSecond: 0 });
      }
    }
  }
  return [...byName.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
}
