/**
 * Plugin runners in worker threads, with the fixture plugins of test/fixtures/plugins: failures are classified,
 * hangs and crashes end the job (never the process), threads are reused and settings loaded once per runner.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/src/index.js';
import { discoverPlugins } from './plugin-discovery.js';
import { PluginThreadPool } from './plugin-thread-pool.js';
import { PluginThreadRunner } from './plugin-thread-runner.js';
import { RunnerError } from './runner.js';
import { bytes, ctx, failure, runOnce, text } from './testing/plugin-runs.js';

const REPO = resolve(import.meta.dirname, '../../..');
const FIXTURES = join(REPO, 'test/fixtures/plugins');

const pools: PluginThreadPool[] = [];
function poolOf(file: string, maxOutputBytes = 1024): PluginThreadPool {
  const pool = new PluginThreadPool(pathToFileURL(join(FIXTURES, file)).href, file, {
    maxOutputBytes,
    cancelGraceMs: 100,
  });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('PluginThreadRunner', () => {
  it('turns a throw into a retryable RunnerError, or the kind the plugin set', async () => {
    const pool = poolOf('throwing.mjs');
    const plain = await failure(runOnce(pool, 'x'));
    expect(plain).toBeInstanceOf(RunnerError);
    expect(plain).toMatchObject({ kind: 'retryable', message: 'plugin exploded on "x"' });
    expect(await failure(runOnce(pool, 'fatal'))).toMatchObject({ kind: 'fatal' });
  });

  it('rejects a hanging run with the abort reason and terminates its thread, whether it awaits or spins', async () => {
    const pool = poolOf('hanging.mjs');
    for (const how of ['wait', 'busy']) {
      const controller = new AbortController();
      const reason = new Error(`timed out (${how})`);
      setTimeout(() => controller.abort(reason), 100);
      const started = Date.now();
      expect(await failure(runOnce(pool, how, controller.signal))).toBe(reason);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // both threads were retired: closing waits for them to exit, so it would hang on a spinning thread left alive
    await pool.close();
  });

  it('fails a job whose thread crashes, and the same runner carries on with a new thread', async () => {
    const pool = poolOf('crashing.mjs');
    const runner = new PluginThreadRunner(pool);
    await runner.load(bytes(''));
    expect(await failure(runner.run(bytes('exit'), ctx()))).toMatchObject({
      kind: 'retryable',
      message: 'plugin CrashingPlugin crashed: the thread exited with code 1',
    });
    expect(await failure(runner.run(bytes('async-throw'), ctx()))).toMatchObject({
      kind: 'retryable',
      message: 'plugin CrashingPlugin crashed: thrown from a timer',
    });
    expect((await runner.run(bytes('still here'), ctx())).map(text)).toEqual(['still here']);
    await runner.close();
  });

  it('reuses a thread across runners and loads settings once per runner instance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jw-counting-'));
    try {
      const log = join(dir, 'loads.log');
      const pool = poolOf('counting.mjs');
      const first = new PluginThreadRunner(pool);
      await first.load(bytes(log));
      const outputs = [];
      for (let i = 0; i < 3; i++) outputs.push(text((await first.run(bytes('0'), ctx()))[0]));
      await first.close();
      const second = await runOnce(pool, '0', undefined, log);

      const thread = /^thread (\d+)/.exec(outputs[0] ?? '')?.[1];
      expect(outputs).toEqual([1, 1, 1].map((n) => `thread ${thread} loads ${n}`));
      // the second runner got the same (idle) thread and loaded its settings there once more
      expect(second.map(text)).toEqual([`thread ${thread} loads 2`]);
      expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes only the bytes of a view between threads, not the whole buffer behind it', async () => {
    const runner = new PluginThreadRunner(poolOf('crashing.mjs'));
    await runner.load(bytes(''));
    // a small Buffer is a view into Node's shared 8 KiB pool; the plugin echoes it back
    const [item] = await runner.run(Buffer.from('pooled'), ctx());
    await runner.close();
    expect(text(item)).toBe('pooled');
    expect(item?.buffer.byteLength).toBe(6);
  });

  it('fails a run whose output is not an array of bytes, or is too large', async () => {
    expect(await failure(runOnce(poolOf('wrong-output.mjs'), 'x'))).toMatchObject({
      kind: 'fatal',
      message: 'the plugin returned something other than an array of Uint8Array from run()',
    });
    expect(await failure(runOnce(poolOf('crashing.mjs', 4), 'too long'))).toMatchObject({
      kind: 'fatal',
      message: 'the plugin returned 8 bytes, more than the 4 allowed (RESPONSE_MAX_BYTES)',
    });
  });
});

describe('discoverPlugins', () => {
  it('loads every usable plugin and logs the modules it skips', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger = recordingLogger(warnings);
    const found = await discoverPlugins([join(REPO, 'plugins'), FIXTURES, join(FIXTURES, 'no-such-folder')], {
      logger,
      maxOutputBytes: 1024,
    });
    expect(found.map((p) => p.metadata.name)).toEqual([
      'EchoPlugin',
      'HelloPlugin',
      'CountingPlugin',
      'CrashingPlugin',
      'HangingPlugin',
      'ThrowingPlugin',
      'WrongOutputPlugin',
    ]);
    expect(found.find((p) => p.metadata.name === 'HelloPlugin')?.metadata.jobArgsProto).toMatch(/message HelloArgs/);

    const skipped = warnings.map((w) => [
      String(w['path'] ?? w['dir']).replace(`${REPO}/`, ''),
      String(w['err'] ?? w['takenBy']),
    ]);
    expect(skipped).toEqual([
      ['test/fixtures/plugins/no-such-folder', expect.stringMatching(/^ENOENT/)],
      ['test/fixtures/plugins/bad-schema.mjs', expect.stringMatching(/runnerSettingsProto is not valid proto source/)],
      ['test/fixtures/plugins/broken.mjs', 'broken at import'],
      ['test/fixtures/plugins/clashing-names.mjs', 'a built-in runner'],
      ['test/fixtures/plugins/echo-again/main.mjs', `${REPO}/plugins/echo/index.mjs`],
      [
        'test/fixtures/plugins/not-a-plugin.mjs',
        expect.stringMatching(/does not export a plugin runner: name must be/),
      ],
    ]);
  });
});

function recordingLogger(warnings: Array<Record<string, unknown>>): Logger {
  const ignore = (): void => undefined;
  const logger: Logger = {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: (obj: object | string) => {
      if (typeof obj === 'object') warnings.push(obj as Record<string, unknown>);
    },
    error: ignore,
    child: () => logger,
  };
  return logger;
}
