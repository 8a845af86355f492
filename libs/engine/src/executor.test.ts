/** executeJob with an explicit runner source: how each ending gives the runner back. */
import { describe, expect, it } from 'vitest';
import type { Job, Worker } from '../../core/src/index.js';
import {
  NO_RETRY,
  Priority,
  QueueType,
  ResponseType,
  ResultStatus,
  RunnerType,
  silentLogger,
} from '../../core/src/index.js';
import type { Runner, RunnerDefinition } from '../../runners/src/index.js';
import { RunnerError } from '../../runners/src/index.js';
import { executeJob } from './executor.js';
import type { RunnerSource } from './runner-source.js';

const job = (timeout = 0): Job => ({
  id: 1,
  workerId: 7,
  args: new Uint8Array(),
  uniqKey: undefined,
  enqueueTime: 0,
  grabbedUntilTime: undefined,
  runAfterTime: 0,
  retried: 0,
  priority: Priority.PRIORITY_MEDIUM,
  timeout,
});

const worker: Worker = {
  id: 7,
  name: 'w',
  runnerId: 1000,
  runnerSettings: new Uint8Array(),
  retryPolicy: NO_RETRY,
  periodicInterval: 0,
  channel: undefined,
  queueType: QueueType.NORMAL,
  responseType: ResponseType.NO_RESULT,
  storeSuccess: false,
  storeFailure: false,
  nextWorkers: [],
  useStatic: true,
};

const definition: RunnerDefinition = {
  id: 1000,
  name: 'Test',
  type: RunnerType.PLUGIN,
  settingsProto: '',
  argsProto: '',
  resultProto: undefined,
  create: () => {
    throw new Error('the source supplies the runner');
  },
};

/** A source lending `run` as a runner, after `loadMs`; records each release. */
function sourceOf(run: Runner['run'], loadMs = 0): { source: RunnerSource; released: boolean[] } {
  const released: boolean[] = [];
  const runner: Runner = { load: async () => undefined, run };
  const source: RunnerSource = {
    acquire: async () => {
      await new Promise((resolve) => setTimeout(resolve, loadMs));
      return { runner, release: async (reusable) => void released.push(reusable) };
    },
  };
  return { source, released };
}

const execute = (source: RunnerSource, timeout = 0) =>
  executeJob(job(timeout), worker, definition, {
    signal: new AbortController().signal,
    logger: silentLogger,
    runners: source,
  });

describe('executeJob with a runner source', () => {
  it('gives the runner back as reusable after a result or a RunnerError', async () => {
    const ok = sourceOf(async () => [Buffer.from('out')]);
    expect((await execute(ok.source)).status).toBe(ResultStatus.SUCCESS);
    expect(ok.released).toEqual([true]);

    const failed = sourceOf(async () => {
      throw new RunnerError('exit 3', 'retryable');
    });
    expect((await execute(failed.source)).status).toBe(ResultStatus.ERROR_AND_RETRY);
    expect(failed.released).toEqual([true]);
  });

  it('gives the runner back as unfit after an unexpected error or a timeout', async () => {
    const broken = sourceOf(async () => {
      throw new TypeError('undefined is not a function');
    });
    expect((await execute(broken.source)).status).toBe(ResultStatus.ERROR_AND_RETRY);
    expect(broken.released).toEqual([false]);

    // a runner that ignores its signal: the timeout still ends the job
    const hanging = sourceOf(() => new Promise<Uint8Array[]>(() => undefined));
    expect((await execute(hanging.source, 50)).status).toBe(ResultStatus.ERROR_AND_RETRY);
    expect(hanging.released).toEqual([false]);
  });

  it('gives back a runner whose load outlived the job once it is loaded, without running it', async () => {
    let runs = 0;
    const slow = sourceOf(async () => {
      runs += 1;
      return [];
    }, 150);
    const outcome = await execute(slow.source, 30);
    expect(outcome.status).toBe(ResultStatus.ERROR_AND_RETRY);
    expect(slow.released).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(slow.released).toEqual([false]);
    expect(runs).toBe(0);
  });

  it('does not time out at once for timeouts beyond the 32-bit timer limit (2^31 and 2^40 ms)', async () => {
    for (const timeout of [2 ** 31, 2 ** 40]) {
      // the runner finishes after 100 ms unless its signal fires first
      const source = sourceOf(
        (_args, ctx) =>
          new Promise<Uint8Array[]>((resolve, reject) => {
            const done = setTimeout(() => resolve([Buffer.from('done')]), 100);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(done);
              reject(ctx.signal.reason as Error);
            });
          }),
      );
      const outcome = await execute(source.source, timeout);
      expect(outcome.status, `timeout ${timeout} ms`).toBe(ResultStatus.SUCCESS);
      expect(Buffer.from(outcome.output[0] ?? []).toString()).toBe('done');
    }
  });
});
