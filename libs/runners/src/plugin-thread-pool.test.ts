/**
 * The plugin thread pool: a bounded number of threads, each running many jobs at once, and what a crash or a hang
 * does to the other jobs on the same thread.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginThreadPool } from './plugin-thread-pool.js';
import { PluginThreadRunner } from './plugin-thread-runner.js';
import { RunnerError } from './runner.js';
import { bytes, ctx, failure, runOnce as runJob, text } from './testing/plugin-runs.js';

const FIXTURES = resolve(import.meta.dirname, '../../../test/fixtures/plugins/pool');

const pools: PluginThreadPool[] = [];
function poolOf(file: string, threads: number): PluginThreadPool {
  const pool = new PluginThreadPool(pathToFileURL(join(FIXTURES, file)).href, file, {
    maxOutputBytes: 1024,
    cancelGraceMs: 100,
    threads,
  });
  pools.push(pool);
  return pool;
}

/** One job on a new runner instance; its items as text. */
async function runOnce(pool: PluginThreadPool, args: string, signal?: AbortSignal, settings = ''): Promise<string[]> {
  return (await runJob(pool, args, signal, settings)).map(text);
}

const abortedAfter = (ms: number, reason: Error): AbortSignal => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms);
  return controller.signal;
};

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('PluginThreadPool', () => {
  it('runs many jobs at once on one thread, each runner with its own settings', async () => {
    const pool = poolOf('sharing.mjs', 1);
    // each job waits until all five arrived: run one at a time, they would wait forever
    const outputs = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => runOnce(pool, 'barrier:5', undefined, `settings ${n}`)),
    );
    expect(new Set(outputs.map(([thread]) => thread)).size).toBe(1);
    expect(outputs.map(([, settings]) => settings)).toEqual([1, 2, 3, 4, 5].map((n) => `settings ${n}`));
  });

  it('spreads concurrent runners over at most `threads` threads', async () => {
    const pool = poolOf('sharing.mjs', 2);
    const runners = [1, 2, 3, 4, 5, 6].map(() => new PluginThreadRunner(pool));
    await Promise.all(runners.map((runner) => runner.load(bytes(''))));
    const outputs = await Promise.all(runners.map(async (runner) => text((await runner.run(bytes('echo'), ctx()))[0])));
    await Promise.all(runners.map((runner) => runner.close()));
    const threads = new Map<string, number>();
    for (const thread of outputs) threads.set(thread, (threads.get(thread) ?? 0) + 1);
    expect([...threads.values()]).toEqual([3, 3]);
  });

  it('takes the jobs of a CommonJS plugin (one instance per thread) in turn, so settings never mix', async () => {
    const pool = poolOf('settings.cjs', 1);
    const outputs = await Promise.all(['a', 'b', 'c'].map((s) => runOnce(pool, '', undefined, s)));
    expect(outputs).toEqual([['a'], ['b'], ['c']]);
  });

  it('fails every job on a thread that crashes, and carries on with a new thread', async () => {
    const pool = poolOf('sharing.mjs', 1);
    const [before] = await runOnce(pool, 'echo');
    const bystander = failure(runOnce(pool, 'forever'));
    const crash = failure(runOnce(pool, 'exit'));
    for (const err of [await crash, await bystander]) {
      expect(err).toBeInstanceOf(RunnerError);
      expect(err).toMatchObject({
        kind: 'retryable',
        message: 'plugin SharingPlugin crashed: the thread exited with code 1',
      });
    }
    const [after] = await runOnce(pool, 'echo');
    expect(after).not.toBe(before);
  });

  it('terminates a thread that an aborted job blocks, failing its other jobs as retryable, and replaces it', async () => {
    const pool = poolOf('sharing.mjs', 1);
    const [before] = await runOnce(pool, 'echo');
    const bystander = failure(runOnce(pool, 'forever'));
    const reason = new Error('timed out');
    expect(await failure(runOnce(pool, 'spin', abortedAfter(100, reason)))).toBe(reason);
    expect(await bystander).toMatchObject({
      kind: 'retryable',
      message:
        'plugin SharingPlugin was stopped: another job on its thread did not end after it was aborted and blocks the thread',
    });
    const [after] = await runOnce(pool, 'echo');
    expect(after).not.toBe(before);
  });

  it('lets the other jobs of a thread finish when an aborted job only awaits forever', async () => {
    const pool = poolOf('sharing.mjs', 1);
    const bystanders = [1, 2].map(() => runOnce(pool, 'barrier:3'));
    const reason = new Error('cancelled');
    expect(await failure(runOnce(pool, 'forever', abortedAfter(50, reason)))).toBe(reason);
    // the thread still turns: the bystanders finish once a third job reaches their barrier
    const third = runOnce(pool, 'barrier:3');
    const outputs = await Promise.all([...bystanders, third]);
    expect(outputs).toHaveLength(3);
    // and a stuck thread is given no new jobs, while the pool still serves
    expect(await runOnce(pool, 'echo')).toHaveLength(2);
  });
});
