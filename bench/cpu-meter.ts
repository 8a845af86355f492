/**
 * CPU time spent by each process taking part in a measured phase (the benchmark process itself, our front and
 * worker or BullMQ's worker, and Redis), so a run also says what each job costs in CPU: on a shared 2-core machine
 * that figure moves less with other load than a rate does.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

export interface CpuParticipant {
  readonly name: string;
  /** CPU seconds (user + system) the participant has used so far; undefined where it cannot be read */
  cpuSeconds(): Promise<number | undefined>;
}

/** CPU seconds used per participant between start() and stop(). */
export type CpuUse = Readonly<Record<string, number | undefined>>;

export class CpuMeter {
  private startedAt: ReadonlyArray<number | undefined> = [];

  constructor(private readonly participants: readonly CpuParticipant[]) {}

  async start(): Promise<void> {
    this.startedAt = await Promise.all(this.participants.map((p) => p.cpuSeconds()));
  }

  async stop(): Promise<CpuUse> {
    const now = await Promise.all(this.participants.map((p) => p.cpuSeconds()));
    const use: Record<string, number | undefined> = {};
    this.participants.forEach((p, i) => {
      const before = this.startedAt[i];
      const after = now[i];
      use[p.name] = before === undefined || after === undefined ? undefined : after - before;
    });
    return use;
  }
}

/** Total CPU seconds in a CpuUse; undefined when any participant could not be read. */
export function totalCpuSeconds(use: CpuUse): number | undefined {
  let total = 0;
  for (const seconds of Object.values(use)) {
    if (seconds === undefined) return undefined;
    total += seconds;
  }
  return total;
}

/** This process (all its threads). */
export function selfCpu(name: string): CpuParticipant {
  return {
    name,
    cpuSeconds: async () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  };
}

let clockTicks: number | undefined;

/** A child process by pid, from /proc/<pid>/stat (utime + stime, all threads). */
export function processCpu(name: string, pid: number): CpuParticipant {
  return {
    name,
    cpuSeconds: async () => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        return undefined;
      }
      // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      return (Number(fields[11]) + Number(fields[12])) / clockTicks;
    },
  };
}

/** The Redis server, from INFO cpu (used_cpu_user + used_cpu_sys). */
export function redisCpu(name: string, redisUrl: string): CpuParticipant {
  return {
    name,
    cpuSeconds: async () => {
      const redis = new Redis(redisUrl, { lazyConnect: true });
      await redis.connect();
      try {
        const info = await redis.info('cpu');
        const field = (key: string): number => Number(new RegExp(`^${key}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
        const seconds = field('used_cpu_user') + field('used_cpu_sys');
        return Number.isNaN(seconds) ? undefined : seconds;
      } finally {
        redis.disconnect();
      }
    },
  };
}
