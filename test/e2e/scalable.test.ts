/**
 * Scalable mode with real processes: 2 grpc-fronts and 3 workers sharing Redis and MariaDB. 3,000 jobs are enqueued
 * through both fronts while one worker is SIGKILLed and restarted. Every job must end with exactly one final result,
 * none may be lost, and no job may run twice at the same time (each run logs its start and end).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData } from '../support/worker-data.js';

const JOBS = 3000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Scalable: 2 fronts, 3 workers, a worker killed mid-run', () => {
  let db: { name: string; drop(): Promise<void> };
  const processes: ServerProcess[] = [];
  let env: Record<string, string>;
  let logDir: string;

  beforeAll(async () => {
    db = await tempMariaDatabase();
    env = {
      ...scalableEnv(db.name, `jwtest-${randomBytes(4).toString('hex')}`),
      JOB_LEASE_MS: '3000',
      JOB_QUEUE_FETCH_INTERVAL: '500',
      WORKER_DEFAULT_CONCURRENCY: '8',
      SHUTDOWN_GRACE_PERIOD_MS: '1000',
    };
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await db?.drop();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, env['REDIS_KEY_PREFIX']!);
  });

  it('finishes every job exactly once, never two runs at a time', async () => {
    const front1 = await startServer({ app: 'grpc-front', env });
    processes.push(front1);
    logDir = front1.dataDir;
    const front2 = await startServer({ app: 'grpc-front', env });
    processes.push(front2);
    const workers: ServerProcess[] = [];
    for (let i = 0; i < 3; i++) workers.push(await startServer({ app: 'worker', env }));
    processes.push(...workers);

    const clients: Clients[] = [connect(front1.address), connect(front2.address)];
    const workerData = commandWorkerData('runs-logged', 'sh', { storeSuccess: true, storeFailure: true });
    const workerId = (await call(clients[0]!.worker, 'create', workerData)).id!;
    const log = join(logDir, 'runs.log');
    const script = (token: string): Buffer =>
      commandArgs(
        '-c',
        `echo "s ${token} $(date +%s%N)" >> ${log}; sleep 0.01; echo "e ${token} $(date +%s%N)" >> ${log}`,
      );

    // enqueue through both fronts, 32 calls in flight
    const jobIds: number[] = [];
    let next = 0;
    let killed = false;
    const enqueueLoop = async (): Promise<void> => {
      while (next < JOBS) {
        const i = next++;
        const c = clients[i % 2]!;
        const res = await call(c.job, 'enqueue', { workerId, args: script(`t${i}`) });
        jobIds.push(res.id!.value);
      }
    };
    const victim = workers[0]!;
    const killer = (async () => {
      while (jobIds.length < JOBS / 3) await sleep(20);
      victim.child.kill('SIGKILL');
      killed = true;
      await new Promise((r) => victim.child.once('exit', r));
      await sleep(500);
      processes.push(await startServer({ app: 'worker', env }));
    })();
    await Promise.all(Array.from({ length: 32 }, enqueueLoop));
    await killer;
    expect(killed).toBe(true);
    expect(new Set(jobIds).size).toBe(JOBS);

    // wait for every job's final result in the RDB
    const conn = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: db.name });
    try {
      const deadline = Date.now() + 180_000;
      let rows: Array<{ job_id: number; n: number; statuses: string }> = [];
      for (;;) {
        const [r] = await conn.query(
          'SELECT job_id, COUNT(*) AS n, GROUP_CONCAT(status) AS statuses FROM job_result GROUP BY job_id',
        );
        rows = r as typeof rows;
        if (rows.length >= JOBS || Date.now() > deadline) break;
        await sleep(500);
      }
      const byJob = new Map(rows.map((r) => [Number(r.job_id), r]));
      const missing = jobIds.filter((id) => !byJob.has(id));
      expect(missing, `jobs without a result: ${missing.length}`).toEqual([]);
      const duplicated = rows.filter((r) => Number(r.n) !== 1);
      expect(duplicated, 'jobs with more than one final result').toEqual([]);
      expect(
        rows.every((r) => r.statuses === '0'),
        'every result is SUCCESS',
      ).toBe(true);
    } finally {
      await conn.end();
    }

    // no job ran twice at the same time: per token, runs never overlap
    const runs = new Map<string, Array<{ kind: string; t: bigint }>>();
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      const [kind, token, t] = line.split(' ');
      if (kind === undefined || token === undefined || t === undefined) continue;
      const list = runs.get(token) ?? [];
      list.push({ kind, t: BigInt(t) });
      runs.set(token, list);
    }
    expect(runs.size).toBe(JOBS);
    let overlapping = 0;
    for (const events of runs.values()) {
      events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
      let open = 0;
      for (const e of events) {
        open += e.kind === 's' ? 1 : -1;
        if (open > 1) overlapping += 1;
      }
    }
    expect(overlapping).toBe(0);
    for (const c of clients) c.close();
  }, 300_000);
});
