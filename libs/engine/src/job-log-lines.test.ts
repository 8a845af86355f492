/**
 * What the engine logs about the jobs it runs, read from a real pino logger writing JSON lines to a stream: every
 * line about a job names its jobId, workerId, worker and channel; a retry is an info line, a final failure a warning,
 * a success a debug line (written only when debug lines are on). The jobs run the real COMMAND runner (`false`,
 * `true`) through a real lifecycle (memory queue, SQLite rows).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../config/src/index.js';
import type { Job, Logger, Worker, WorkerSpec } from '../../core/src/index.js';
import {
  NO_RETRY,
  Priority,
  QueueType,
  ResponseType,
  RetryType,
  TimeOrderedIdGenerator,
} from '../../core/src/index.js';
import { JobLifecycle } from '../../jobs/src/index.js';
import { CommandArgs, CommandRunnerSettings } from '../../proto/src/index.js';
import { MemoryJobStateStore, MemoryQueue, MemoryResultBus } from '../../queue/src/index.js';
import type { RunnerDefinition } from '../../runners/src/index.js';
import { commandRunnerDefinition } from '../../runners/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openStorage } from '../../storage/src/index.js';
import { Engine } from './engine.js';

type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** The JSON lines a pino logger writes, parsed; waits resolve as soon as a matching line arrives. */
class LogCapture {
  readonly records: LogRecord[] = [];
  private waiters: { test: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];

  logger(level: 'debug' | 'info'): Logger {
    return pino({ level, base: undefined }, { write: (line: string) => this.add(JSON.parse(line) as LogRecord) });
  }

  private add(record: LogRecord): void {
    this.records.push(record);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(record)) return true;
      w.resolve(record);
      return false;
    });
  }

  /** the first line (written so far or later) that passes `test` */
  next(test: (r: LogRecord) => boolean, what: string): Promise<LogRecord> {
    const found = this.records.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no log line ${what} within 30 s; lines:\n${JSON.stringify(this.records, null, 1)}`)),
        30_000,
      );
      this.waiters.push({
        test,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  about(jobId: number): LogRecord[] {
    return this.records.filter((r) => r['jobId'] === jobId);
  }
}

let dir: string;
let storage: Storage;
let definition: RunnerDefinition;
let capture: LogCapture;
let closers: (() => Promise<void>)[] = [];
const ids = new TimeOrderedIdGenerator(3);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-job-logs-'));
  storage = await openStorage({ kind: 'sqlite', path: join(dir, 'jobworkerp.sqlite3') });
  await storage.migrate();
  const command = commandRunnerDefinition({ maxOutputBytes: 65_536, env: { PATH: process.env['PATH'] ?? '/bin' } });
  const row = await storage.runners.upsertByName(command, () => ids.next());
  definition = { ...command, id: row.id };
  capture = new LogCapture();
});

afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A lifecycle and an engine serving the default channel and `logs-ch`, logging to `capture` at `level`. */
async function startEngine(level: 'debug' | 'info'): Promise<{ lifecycle: JobLifecycle; bus: MemoryResultBus }> {
  const logger = capture.logger(level);
  const state = new MemoryJobStateStore();
  const bus = new MemoryResultBus({ keepMs: 60_000 });
  const queue = new MemoryQueue({ maxPendingPerChannel: 100, state, results: bus });
  const lifecycle = new JobLifecycle({
    storage,
    queue,
    state,
    bus,
    ids,
    logger,
    findDefinition: (id) => (id === definition.id ? definition : undefined),
    cancelTtlMs: 60_000,
    deadLetters: { enabled: true, retentionMs: 86_400_000, maxCount: 100 },
  });
  const engine = new Engine(
    {
      channels: [
        { name: DEFAULT_CHANNEL, concurrency: 2 },
        { name: 'logs-ch', concurrency: 1 },
      ],
      leaseMs: 30_000,
      fetchIntervalMs: 50,
    },
    { storage, lifecycle, logger },
  );
  await engine.start();
  closers.push(async () => {
    await engine.stop(1000);
    await Promise.all([queue.close(), state.close(), bus.close()]);
  });
  return { lifecycle, bus };
}

function addWorker(name: string, executable: string, spec: Partial<WorkerSpec> = {}): Promise<Worker> {
  return storage.workers.create({
    name,
    runnerId: definition.id,
    runnerSettings: CommandRunnerSettings.encode({ name: executable }).finish(),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    storeFailure: false,
    nextWorkers: [],
    useStatic: false,
    ...spec,
  });
}

function newJob(worker: Worker): Job {
  return {
    id: ids.next(),
    workerId: worker.id,
    args: CommandArgs.encode({ args: [] }).finish(),
    uniqKey: undefined,
    enqueueTime: Date.now(),
    grabbedUntilTime: undefined,
    runAfterTime: 0,
    retried: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
  };
}

describe('log lines about jobs', () => {
  it('a failing job: an info line for its retry, a warning when it fails for good, each with the job fields', async () => {
    const { lifecycle } = await startEngine('info');
    const worker = await addWorker('logs-failing', 'false', {
      channel: 'logs-ch',
      retryPolicy: { type: RetryType.CONSTANT, interval: 0, maxInterval: 0, maxRetry: 1, basis: 2 },
    });
    const job = newJob(worker);
    await lifecycle.enqueue(job, worker);

    const failed = await capture.next((r) => r['jobId'] === job.id && r.msg === 'job failed', 'of the failed job');
    expect(failed).toMatchObject({
      level: 40,
      jobId: job.id,
      workerId: worker.id,
      worker: 'logs-failing',
      channel: 'logs-ch',
      status: 'MAX_RETRY',
      retried: 1,
    });
    expect(failed['reason']).toContain('exited with code 1');

    const retry = capture.about(job.id).find((r) => r.msg === 'job failed; it runs again');
    expect(retry).toMatchObject({
      level: 30,
      jobId: job.id,
      workerId: worker.id,
      worker: 'logs-failing',
      channel: 'logs-ch',
      retried: 1,
      retryInMs: 0,
    });
    // every line about the job names it the same way
    for (const line of capture.about(job.id)) {
      expect(line).toMatchObject({ workerId: worker.id, worker: 'logs-failing', channel: 'logs-ch' });
    }
  });

  it('a job that succeeds: a debug line with the job fields (the default channel by its name)', async () => {
    const { lifecycle } = await startEngine('debug');
    const worker = await addWorker('logs-succeeding', 'true');
    const job = newJob(worker);
    await lifecycle.enqueue(job, worker);

    const done = await capture.next((r) => r['jobId'] === job.id && r.msg === 'job succeeded', 'of the success');
    expect(done).toMatchObject({
      level: 20,
      jobId: job.id,
      workerId: worker.id,
      worker: 'logs-succeeding',
      channel: DEFAULT_CHANNEL,
      status: 'SUCCESS',
      retried: 0,
    });
    expect(typeof done['durationMs']).toBe('number');
  });

  it('at info level a job that succeeds writes no line', async () => {
    const { lifecycle, bus } = await startEngine('info');
    const ok = await addWorker('logs-quiet', 'true');
    const job = newJob(ok);
    const ended = new Promise<void>((resolve) => {
      void bus.subscribeWorker(ok.id, () => resolve()).then((unsubscribe) => closers.push(unsubscribe));
    });
    await lifecycle.enqueue(job, ok);
    await ended;
    // a failure after it is logged: the logger writes, and wrote nothing about the success
    const failing = await addWorker('logs-after', 'false');
    const after = newJob(failing);
    await lifecycle.enqueue(after, failing);
    await capture.next((r) => r['jobId'] === after.id && r.msg === 'job failed', 'of the later failure');
    expect(capture.about(job.id)).toEqual([]);
  });
});
