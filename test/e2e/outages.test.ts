/**
 * Outages in Scalable mode. One grpc-front and two workers share a private Redis (append-only file fsynced at every
 * write, password required) and a private MariaDB (password account). While Enqueue calls flow (NORMAL, WITH_BACKUP
 * and delayed jobs), Redis is SIGKILLed and later MariaDB is shut down, each for a few seconds, then started again on
 * the same port and data. During an outage the front answers UNAVAILABLE with a message naming the service and its
 * address (never a password); afterwards the same processes serve again on their own; every job whose Enqueue
 * returned OK ends with exactly one stored result. A job held running across each outage finishes while the service
 * is down: its result cannot be recorded, so its claim stays unacknowledged and it runs again after its lease.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRequest, WorkerData } from '../../libs/proto/src/index.js';
import { CommandArgs, CommandRunnerSettings, QueueType, ResponseType, RetryType } from '../../libs/proto/src/index.js';
import type { EnqueueAttempt } from '../support/enqueue-flow.js';
import { attemptEnqueue, EnqueueFlow } from '../support/enqueue-flow.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import type { MariaDbServer } from '../support/mariadb-server.js';
import { startMariaDbServer } from '../support/mariadb-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { startRedisServer } from '../support/redis-server.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';

const LEASE_MS = 3000;
/** how long a service is down before the probe call */
const OUTAGE_MS = 3000;
/** a call made while a service is down fails within this long (its deadline is 20 s) */
const FAIL_WITHIN_MS = 8000;
const DATABASE = 'jw_outages';
const REDIS_PASSWORD = `rpw${randomBytes(6).toString('hex')}`;
const MYSQL_ACCOUNT = { user: 'jw', password: `mpw${randomBytes(6).toString('hex')}` };

type Kind = 'normal' | 'backup' | 'delayed';
const KINDS: readonly Kind[] = ['normal', 'backup', 'delayed'];

/** When a service was down, as the test saw it. */
interface Outage {
  /** the service process had exited */
  readonly downAt: number;
  /** its restart began */
  readonly upAt: number;
  /** it answered again */
  readonly readyAt: number;
}

describe('Scalable: Redis and MariaDB outages while jobs flow', () => {
  let redis: RedisServer | undefined;
  let maria: MariaDbServer | undefined;
  const processes: ServerProcess[] = [];
  let clients: Clients | undefined;
  let workDir: string;
  const workerIds: Partial<Record<'normal' | 'backup', number>> = {};
  const failures: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'jw-outages-'));
    redis = await startRedisServer(REDIS_PASSWORD);
    maria = await startMariaDbServer(MYSQL_ACCOUNT);
    const env = {
      STORAGE_TYPE: 'Scalable',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `jwout-${randomBytes(4).toString('hex')}`,
      MYSQL_HOST: maria.host,
      MYSQL_PORT: String(maria.port),
      MYSQL_USER: MYSQL_ACCOUNT.user,
      MYSQL_PASSWORD: MYSQL_ACCOUNT.password,
      MYSQL_DBNAME: DATABASE,
      JOB_LEASE_MS: String(LEASE_MS),
      JOB_QUEUE_FETCH_INTERVAL: '500',
      WORKER_DEFAULT_CONCURRENCY: '4',
      SHUTDOWN_GRACE_PERIOD_MS: '1000',
      LOG_LEVEL: 'info',
    };
    processes.push(await startServer({ app: 'grpc-front', env }));
    processes.push(...(await Promise.all([startServer({ app: 'worker', env }), startServer({ app: 'worker', env })])));
    clients = connect(processes[0]!.address);
    for (const [kind, queueType] of [
      ['normal', QueueType.NORMAL],
      ['backup', QueueType.WITH_BACKUP],
    ] as const) {
      const data: WorkerData = {
        name: `outage-${kind}`,
        runnerId: { value: 1 },
        runnerSettings: Buffer.from(CommandRunnerSettings.encode({ name: 'sh' }).finish()),
        retryPolicy: { type: RetryType.NONE, interval: 0, maxInterval: 0, maxRetry: 0, basis: 2 },
        periodicInterval: 0,
        channel: undefined,
        queueType,
        responseType: ResponseType.NO_RESULT,
        storeSuccess: true,
        storeFailure: true,
        nextWorkers: [],
        useStatic: false,
      };
      workerIds[kind] = (await call(clients.worker, 'create', data)).id!.value;
    }
  }, 90_000);

  afterAll(async () => {
    clients?.close();
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await redis?.cleanup();
    await maria?.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });

  const shell = (script: string): Buffer => Buffer.from(CommandArgs.encode({ args: ['-c', script] }).finish());
  const request = (kind: Kind): JobRequest => ({
    workerId: { value: kind === 'backup' ? workerIds.backup! : workerIds.normal! },
    args: shell('true'),
    runAfterTime: kind === 'delayed' ? Date.now() + 1000 : undefined,
  });
  const startFlow = (): EnqueueFlow<Kind> => new EnqueueFlow({ client: clients!.job, kinds: KINDS, request });

  /**
   * Takes a service down around a gated job and a probe: once the gated job has started, `stop` takes the service
   * down and the gate opens, so the job ends while the service is down. Once the service has been down for
   * OUTAGE_MS (and the job ended at least a second ago), a probe Enqueue of `probeKind` is made and answered, then
   * `start` brings the service back.
   */
  async function outage(
    name: string,
    service: { stop(): Promise<void>; start(): Promise<void> },
    probeKind: Kind,
  ): Promise<{ outage: Outage; probe: EnqueueAttempt<Kind>; gatedJobId: number; gatedRuns: () => number }> {
    const log = join(workDir, `${name}.runs`);
    const gate = join(workDir, `${name}.gate`);
    const lines = (word: string): number =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l === word).length
        : 0;
    const gated = await call(clients!.job, 'enqueue', {
      workerId: { value: workerIds.normal! },
      args: shell(`echo start >> ${log}; while [ ! -e ${gate} ]; do sleep 0.05; done; echo end >> ${log}`),
    });
    await until(() => lines('start') >= 1, 15_000, `the gated job of the ${name} outage to start`);
    await service.stop();
    const downAt = Date.now();
    writeFileSync(gate, '');
    await until(() => lines('end') >= 1, 5_000, `the gated job to end while ${name} is down`);
    await sleep(Math.max(OUTAGE_MS - (Date.now() - downAt), 1000));
    const probe = await attemptEnqueue(clients!.job, probeKind, request(probeKind));
    const upAt = Date.now();
    await service.start();
    return {
      outage: { downAt, upAt, readyAt: Date.now() },
      probe,
      gatedJobId: gated.id!.value,
      gatedRuns: () => lines('end'),
    };
  }

  /**
   * Checks the calls of an outage phase: the probe made late in the outage was answered UNAVAILABLE with `message`
   * within FAIL_WITHIN_MS; no flow call that needs the service was accepted while it was down; every failure of the
   * phase is UNAVAILABLE with `message`, answered within FAIL_WITHIN_MS; each kind of job is accepted after the restart.
   */
  function checkCalls(
    flow: EnqueueFlow<Kind>,
    outage: Outage,
    probe: EnqueueAttempt<Kind>,
    message: RegExp,
    needsService: (kind: Kind) => boolean,
  ): void {
    const describeCall = (a: EnqueueAttempt<Kind>): string =>
      `${a.kind} made at +${a.startedAt - outage.downAt} ms, answered at +${a.endedAt - outage.downAt} ms: ` +
      (a.jobId === undefined ? `code ${a.code} ${a.message}` : 'OK');
    const wrong = (a: EnqueueAttempt<Kind>): boolean =>
      a.code !== status.UNAVAILABLE || !message.test(a.message ?? '') || a.endedAt - a.startedAt > FAIL_WITHIN_MS;
    expect(wrong(probe) ? describeCall(probe) : 'ok', 'the probe made while the service was down').toBe('ok');
    expect(
      flow.accepted().filter((a) => a.endedAt < outage.downAt).length,
      'calls accepted before the outage',
    ).toBeGreaterThan(0);
    const acceptedWhileDown = flow
      .accepted()
      .filter((a) => a.startedAt >= outage.downAt && a.endedAt <= outage.upAt && needsService(a.kind));
    expect(acceptedWhileDown.map(describeCall), 'calls accepted while the service was down').toEqual([]);
    expect(
      flow.failed().filter(wrong).map(describeCall),
      'failures not UNAVAILABLE naming the service in time',
    ).toEqual([]);
    for (const kind of KINDS) {
      const after = flow.accepted().filter((a) => a.kind === kind && a.startedAt >= outage.readyAt);
      expect(after.length, `${kind} jobs accepted after the restart`).toBeGreaterThan(0);
    }
    for (const a of [probe, ...flow.failed()]) failures.push(a.message ?? '');
  }

  /** Waits until each job has a stored result, then checks it has exactly one and that it is SUCCESS. */
  async function expectOneResultEach(jobIds: readonly number[]): Promise<void> {
    const deadline = Date.now() + 60_000;
    let rows = new Map<number, { n: number; statuses: string }>();
    for (;;) {
      const conn = await maria!.connect(DATABASE);
      try {
        const [result] = await conn.query(
          'SELECT job_id, COUNT(*) AS n, GROUP_CONCAT(status) AS statuses FROM job_result GROUP BY job_id',
        );
        const list = result as Array<{ job_id: number; n: number; statuses: string }>;
        rows = new Map(list.map((r) => [Number(r.job_id), { n: Number(r.n), statuses: String(r.statuses) }]));
      } finally {
        await conn.end();
      }
      if (jobIds.every((id) => rows.has(id)) || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(
      jobIds.filter((id) => !rows.has(id)),
      'accepted jobs without a result',
    ).toEqual([]);
    expect(
      jobIds.filter((id) => rows.get(id)!.n !== 1),
      'accepted jobs with more than one result',
    ).toEqual([]);
    const notSuccess = jobIds.filter((id) => rows.get(id)!.statuses !== '0');
    expect(
      notSuccess.map((id) => `${id}: ${rows.get(id)!.statuses}`),
      'results other than SUCCESS',
    ).toEqual([]);
  }

  function expectProcessesAlive(): void {
    for (const p of processes) {
      expect({ exitCode: p.child.exitCode, signal: p.child.signalCode }, p.output()).toEqual({
        exitCode: null,
        signal: null,
      });
    }
  }

  it('Redis killed and restarted: UNAVAILABLE naming Redis meanwhile, then served again, no accepted job lost', async () => {
    const flow = startFlow();
    let phase: Awaited<ReturnType<typeof outage>>;
    try {
      await flow.waitForAccepted(Date.now(), 15, 20_000);
      phase = await outage('redis', { stop: () => redis!.stop('SIGKILL'), start: () => redis!.start() }, 'normal');
      await flow.waitForAccepted(phase.outage.readyAt, 15, 30_000);
    } finally {
      await flow.stop();
    }
    const redisMessage = new RegExp(`^redis unavailable at 127\\.0\\.0\\.1:${redis!.port}: \\S`);
    checkCalls(flow, phase.outage, phase.probe, redisMessage, () => true);
    await expectOneResultEach([...flow.accepted().map((a) => a.jobId), phase.gatedJobId]);
    expect(phase.gatedRuns(), 'runs of the job that ended while Redis was down').toBeGreaterThanOrEqual(2);
    expectProcessesAlive();
  }, 120_000);

  it('MariaDB shut down and restarted: UNAVAILABLE naming the database meanwhile, then served again, no accepted job lost', async () => {
    const flow = startFlow();
    let phase: Awaited<ReturnType<typeof outage>>;
    try {
      await flow.waitForAccepted(Date.now(), 15, 20_000);
      phase = await outage('mariadb', { stop: () => maria!.stop('SIGTERM'), start: () => maria!.start() }, 'backup');
      await flow.waitForAccepted(phase.outage.readyAt, 15, 30_000);
    } finally {
      await flow.stop();
    }
    const databaseMessage = new RegExp(
      `^database unavailable: .+; check that MariaDB is running at 127\\.0\\.0\\.1:${maria!.port}\\b`,
    );
    // NORMAL jobs need only Redis once the front has their worker cached, so they may be accepted while the RDB is down
    checkCalls(flow, phase.outage, phase.probe, databaseMessage, (kind) => kind !== 'normal');
    await expectOneResultEach([...flow.accepted().map((a) => a.jobId), phase.gatedJobId]);
    expect(phase.gatedRuns(), 'runs of the job that ended while MariaDB was down').toBeGreaterThanOrEqual(2);
    expectProcessesAlive();
  }, 120_000);

  it('the processes survived both outages and printed no password, unhandled rejection or unexpected error', () => {
    expectProcessesAlive();
    const texts = [...failures, ...processes.map((p) => p.output())];
    for (const secret of [REDIS_PASSWORD, MYSQL_ACCOUNT.password]) {
      expect(
        texts.filter((t) => t.includes(secret)),
        'messages and outputs holding a password',
      ).toEqual([]);
    }
    for (const p of processes)
      expect(p.output()).not.toMatch(/unhandled rejection|uncaught exception|unexpected error/i);
  });
});

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
