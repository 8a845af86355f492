/**
 * use_static end to end: a use_static worker's runner instances are pooled (as many as its channel's concurrency),
 * loaded once each and reused across jobs; updating the worker drops the pool and the next jobs load new
 * instances. Ordinary workers load a runner per job. The fixture CountingPlugin appends a line to the file named
 * by its settings on every load() and reports its thread and load count in each result.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerData } from '../../libs/proto/src/index.js';
import { ResponseType, ResultStatus } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect } from '../support/grpc-clients.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { workerData } from '../support/worker-data.js';

const CHANNEL = 'pair';
const CONCURRENCY = 2;

describe('use_static workers', () => {
  let server: ServerProcess;
  let c: Clients;
  let dir: string;
  let countingRunnerId: number;

  const loadsIn = (file: string): string[] => readFileSync(join(dir, file), 'utf8').trim().split('\n');
  const countingWorker = (name: string, logFile: string, useStatic: boolean): WorkerData =>
    workerData({
      name,
      runnerId: { value: countingRunnerId },
      runnerSettings: Buffer.from(join(dir, logFile)),
      channel: CHANNEL,
      responseType: ResponseType.DIRECT,
      useStatic,
    });
  /** runs `count` jobs of 20 ms at once (so that both slots of the channel are busy) and returns their outputs */
  const runJobs = async (workerId: number, count: number): Promise<string[]> => {
    const results = await Promise.all(
      Array.from({ length: count }, () =>
        call(c.job, 'enqueue', { workerId: { value: workerId }, args: Buffer.from('20') }),
      ),
    );
    expect(results.map((r) => r.result?.data?.status)).toEqual(results.map(() => ResultStatus.SUCCESS));
    return results.map((r) => Buffer.from(r.result?.data?.output?.items[0] ?? []).toString());
  };
  const threadsOf = (outputs: string[]): Set<string> => new Set(outputs.map((o) => /^thread (\d+)/.exec(o)?.[1] ?? o));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jw-static-'));
    server = await startServer({
      env: {
        PLUGINS_RUNNER_DIR: join(REPO_ROOT, 'test/fixtures/plugins'),
        WORKER_CHANNELS: CHANNEL,
        WORKER_CHANNEL_CONCURRENCIES: String(CONCURRENCY),
      },
    });
    c = connect(server.address);
    const runners = await collect(c.runner.findList({}));
    countingRunnerId = runners.find((r) => r.data?.name === 'CountingPlugin')!.id!.value;
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads one runner per pool slot for many jobs, and a new pool after the worker is updated', async () => {
    const { id } = await call(c.worker, 'create', countingWorker('static-counting', 'first.log', true));
    const workerId = id!.value;

    const outputs = await runJobs(workerId, 24);
    // two slots (the channel's concurrency), each loaded exactly once and reused by every job
    expect(loadsIn('first.log')).toHaveLength(CONCURRENCY);
    expect(threadsOf(outputs).size).toBe(CONCURRENCY);
    expect(new Set(outputs.map((o) => o.replace(/^thread \d+ /, '')))).toEqual(new Set(['loads 1']));

    expect((await runJobs(workerId, 10)).length).toBe(10);
    expect(loadsIn('first.log')).toHaveLength(CONCURRENCY);

    // the update drops the pool: new instances load the new settings, once per slot again
    const updated = await call(c.worker, 'update', {
      id: { value: workerId },
      data: countingWorker('static-counting', 'second.log', true),
    });
    expect(updated.isSuccess).toBe(true);
    await runJobs(workerId, 24);
    expect(loadsIn('second.log')).toHaveLength(CONCURRENCY);
    expect(loadsIn('first.log')).toHaveLength(CONCURRENCY);
  });

  it('loads a runner for every job of an ordinary worker, on reused threads', async () => {
    const { id } = await call(c.worker, 'create', countingWorker('plain-counting', 'plain.log', false));
    const outputs = await runJobs(id!.value, 12);
    expect(loadsIn('plain.log')).toHaveLength(12);
    // the plugin's threads are pooled per process: no more threads than jobs ran at once
    expect(threadsOf(outputs).size).toBeLessThanOrEqual(CONCURRENCY);
  });
});
