import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, WorkerSpec } from '../../core/src/index.js';
import { NO_RETRY, Priority, QueueType, ResponseType, RunnerType } from '../../core/src/index.js';
import { MemoryProcessRegistry, MemoryQueue } from '../../queue/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openStorage } from '../../storage/src/index.js';
import { SystemStatusReader } from './system-status.js';

let dir: string;
let storage: Storage;
let queue: MemoryQueue;
let processes: MemoryProcessRegistry;
const now = Date.now();

const job = (id: number, workerId: number, over: Partial<Job> = {}): Job => ({
  id,
  workerId,
  args: new Uint8Array(),
  uniqKey: undefined,
  enqueueTime: now - 2_000,
  grabbedUntilTime: undefined,
  runAfterTime: 0,
  retried: 0,
  priority: Priority.PRIORITY_MEDIUM,
  timeout: 0,
  ...over,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-status-'));
  storage = await openStorage({ kind: 'sqlite', path: join(dir, 'jobworkerp.sqlite3') });
  await storage.migrate();
  queue = new MemoryQueue({ maxPendingPerChannel: 100, now: () => now });
  processes = new MemoryProcessRegistry({ timeoutMs: 60_000, now: () => now });
});

afterEach(async () => {
  await Promise.all([queue.close(), processes.close()]);
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SystemStatusReader', () => {
  it('puts together the processes, every channel with jobs or served, and the RDB counts', async () => {
    const runner = await storage.runners.upsertByName(
      { name: 'StatusTest', type: RunnerType.PLUGIN, settingsProto: '', argsProto: '', resultProto: undefined },
      () => 1,
    );
    const spec = (name: string, periodicInterval = 0): WorkerSpec => ({
      name,
      runnerId: runner.id,
      runnerSettings: new Uint8Array(),
      retryPolicy: NO_RETRY,
      periodicInterval,
      channel: undefined,
      queueType: QueueType.NORMAL,
      responseType: ResponseType.NO_RESULT,
      storeSuccess: false,
      storeFailure: false,
      nextWorkers: [],
      useStatic: false,
    });
    const plain = await storage.workers.create(spec('plain'));
    const periodic = await storage.workers.create(spec('periodic', 60_000));
    await storage.jobs.insert(job(1, plain.id, { runAfterTime: now + 10_000 }));
    await storage.jobs.insert(job(2, periodic.id, { runAfterTime: now + 10_000 }));
    await queue.enqueue(job(10, plain.id), 'b');
    await queue.enqueue(job(11, plain.id), 'b');
    const [claimed] = await queue.claim('b', { max: 1, waitMs: 0, leaseMs: 60_000 });
    await queue.ack(claimed!);
    await processes.heartbeat({
      instanceId: 'w1',
      kind: 'worker',
      nodeId: 2,
      host: 'h',
      pid: 7,
      startTime: now - 5_000,
      channels: [
        { name: 'a', concurrency: 3 },
        { name: 'b', concurrency: 1 },
      ],
    });

    const reader = new SystemStatusReader({
      queue,
      processes,
      jobs: storage.jobs,
      schedules: storage.schedules,
      deadLetters: storage.deadLetters,
      version: '9.9.9',
      storageType: 'Standalone',
      startTime: now - 1_500,
      now: () => now,
    });
    const status = await reader.read();
    expect(status).toMatchObject({
      version: '9.9.9',
      uptimeMs: 1_500,
      storageType: 'Standalone',
      delayedJobs: 1,
      periodicJobs: 1,
      deadLetters: 0,
      schedules: 0,
      time: now,
    });
    expect(status.processes.map((p) => [p.instanceId, p.lastHeartbeat])).toEqual([['w1', now]]);
    expect(status.channels).toEqual([
      // served, nothing in the queue
      { channel: 'a', waiting: 0, running: 0, oldestWaitingMs: 0, completedPerSecond: 0 },
      { channel: 'b', waiting: 1, running: 0, oldestWaitingMs: 2_000, completedPerSecond: 1 / 60 },
    ]);
  });
});
