/** The machine a run measured: CPU, cores, memory, OS, and the versions of Node.js, Redis, MariaDB and BullMQ. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly mariadb: string;
  readonly bullmq: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews every figure */
  readonly loadAverageAtStart: readonly number[];
}

export async function machineInfo(redisUrl: string, mariadbVersion: string): Promise<MachineInfo> {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    redis: await redisVersion(redisUrl),
    mariadb: mariadbVersion,
    bullmq: bullmqVersion(),
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    return /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/** BullMQ's version from its package.json (bullmq resolves to <package>/dist/cjs/index.js). */
function bullmqVersion(): string {
  const entry = createRequire(import.meta.url).resolve('bullmq');
  const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
