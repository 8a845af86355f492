import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CommandArgs, CommandRunnerSettings } from '../../proto/src/index.js';
import { CommandRunner } from './command-runner.js';
import type { RunContext } from './runner.js';
import { RunnerError } from './runner.js';

const MAX_OUTPUT_BYTES = 1024;
/** what Config gives COMMAND children: PATH, HOME, LANG and an allowlisted variable */
const CHILD_ENV = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', JW_ALLOWED: 'yes' };

async function loaded(name: string): Promise<CommandRunner> {
  const runner = new CommandRunner({ maxOutputBytes: MAX_OUTPUT_BYTES, env: CHILD_ENV });
  await runner.load(CommandRunnerSettings.encode({ name }).finish());
  return runner;
}

function argsBytes(...args: string[]): Uint8Array {
  return CommandArgs.encode({ args }).finish();
}

function context(signal: AbortSignal = new AbortController().signal): RunContext {
  return { signal, jobId: 1, timeoutMs: 0 };
}

async function run(name: string, ...args: string[]): Promise<string[]> {
  const output = await (await loaded(name)).run(argsBytes(...args), context());
  return output.map((item) => Buffer.from(item).toString('utf8'));
}

/** The rejection of `promise`, which must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

/** Pids of live (not zombie) processes whose command line contains `token` (Linux /proc). */
function liveProcessesMentioning(token: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(token) && state !== 'Z' && state !== 'X') pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** A sleep duration nobody else uses, so the test can find its own processes in /proc. */
function uniqueSleepSeconds(): string {
  return `5.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

/** Runs `name args`, aborts after 200 ms, and asserts a quick rejection with the reason and that `token` is gone. */
async function expectAbortKills(name: string, args: string[], token: string): Promise<void> {
  const runner = await loaded(name);
  const controller = new AbortController();
  const reason = new Error('timed out after 200 ms');
  let runningAtAbort: number[] = [];
  const timer = setTimeout(() => {
    runningAtAbort = liveProcessesMentioning(token);
    controller.abort(reason);
  }, 200);
  const started = Date.now();
  try {
    const error = await rejectionOf(runner.run(argsBytes(...args), context(controller.signal)));
    expect(error).toBe(reason);
    expect(Date.now() - started).toBeLessThan(500);
  } finally {
    clearTimeout(timer);
  }
  expect(runningAtAbort.length).toBeGreaterThan(0);
  await vi.waitFor(() => expect(liveProcessesMentioning(token)).toEqual([]), { timeout: 250, interval: 10 });
}

describe('CommandRunner', () => {
  it('returns stdout as-is, trailing newline included', async () => {
    expect(await run('echo', 'hello')).toEqual(['hello\n']);
  });

  it('passes arguments verbatim, without a shell', async () => {
    expect(await run('printf', '%s', '$HOME;ls *')).toEqual(['$HOME;ls *']);
  });

  it('runs an executable given by path', async () => {
    expect(await run('/bin/sh', '-c', 'printf ok')).toEqual(['ok']);
  });

  it('fails retryably on a non-zero exit, with the code and stderr', async () => {
    const runner = await loaded('sh');
    const error = await rejectionOf(runner.run(argsBytes('-c', 'echo err >&2; exit 3'), context()));
    expect(error).toBeInstanceOf(RunnerError);
    const { kind, message, output } = error as RunnerError;
    expect(kind).toBe('retryable');
    expect(message).toBe('command "sh" exited with code 3: err');
    expect(output.map((item) => Buffer.from(item).toString())).toEqual(['err\n']);
  });

  it('fails retryably when the child is killed by a signal it did not get from us', async () => {
    const runner = await loaded('sh');
    const error = await rejectionOf(runner.run(argsBytes('-c', 'kill -TERM $$'), context()));
    expect(error).toMatchObject({ kind: 'retryable', message: 'command "sh" was killed by SIGTERM' });
  });

  it('fails fatally when the executable does not exist', async () => {
    const runner = await loaded('jobworkerp-no-such-executable');
    const error = await rejectionOf(runner.run(argsBytes(), context()));
    expect(error).toBeInstanceOf(RunnerError);
    expect(error).toMatchObject({
      kind: 'fatal',
      message: `executable "jobworkerp-no-such-executable" not found on PATH; check the worker's runner_settings.name`,
    });
  });

  it('fails fatally when the file is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'command-runner-'));
    try {
      const file = join(dir, 'not-executable');
      writeFileSync(file, '#!/bin/sh\necho no\n', { mode: 0o644 });
      const runner = await loaded(file);
      const error = await rejectionOf(runner.run(argsBytes(), context()));
      expect(error).toMatchObject({ kind: 'fatal', message: expect.stringContaining('EACCES') as unknown });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives the child only its configured environment, none of the worker's own variables", async () => {
    process.env['JW_TEST_SERVER_SECRET'] = 'do-not-leak';
    try {
      const [printed] = await run('printenv');
      const names = (printed ?? '')
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
        .sort();
      expect(names).toEqual(['HOME', 'JW_ALLOWED', 'LANG', 'PATH']);
      expect(printed).not.toContain('do-not-leak');
      // a job passes a variable on purpose through env(1)
      expect(await run('env', 'GREETING=hi', 'printenv', 'GREETING')).toEqual(['hi\n']);
    } finally {
      delete process.env['JW_TEST_SERVER_SECRET'];
    }
  });

  it('fails fatally on an argument that cannot be passed to a process', async () => {
    const runner = await loaded('echo');
    const error = await rejectionOf(runner.run(argsBytes('a\0b'), context()));
    const message = expect.stringContaining('cannot run command "echo"') as unknown;
    expect(error).toMatchObject({ kind: 'fatal', message });
  });

  it('rejects undecodable or empty settings as fatal', async () => {
    const runner = new CommandRunner({ maxOutputBytes: MAX_OUTPUT_BYTES, env: CHILD_ENV });
    await expect(runner.load(Uint8Array.of(0x0a, 0x05))).rejects.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('invalid CommandRunnerSettings bytes') as unknown,
    });
    await expect(runner.load(CommandRunnerSettings.encode({ name: ' ' }).finish())).rejects.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('empty name') as unknown,
    });
  });

  it('rejects undecodable args as fatal', async () => {
    const runner = await loaded('echo');
    await expect(runner.run(Uint8Array.of(0x0a, 0x05), context())).rejects.toMatchObject({
      kind: 'fatal',
      message: expect.stringContaining('invalid CommandArgs bytes') as unknown,
    });
  });

  it('refuses to run before load()', async () => {
    const runner = new CommandRunner({ maxOutputBytes: MAX_OUTPUT_BYTES, env: CHILD_ENV });
    await expect(runner.run(argsBytes(), context())).rejects.toMatchObject({ kind: 'other' });
  });

  describe('output bound', () => {
    it('keeps output of exactly maxOutputBytes', async () => {
      const runner = await loaded('head');
      const [stdout] = await runner.run(argsBytes('-c', String(MAX_OUTPUT_BYTES), '/dev/zero'), context());
      expect(stdout?.length).toBe(MAX_OUTPUT_BYTES);
    });

    it('kills a child whose stdout exceeds maxOutputBytes and fails fatally with the first bytes', async () => {
      const runner = await loaded('yes');
      const error = await rejectionOf(runner.run(argsBytes(), context()));
      expect(error).toMatchObject({
        kind: 'fatal',
        message: `command "yes" output exceeded ${MAX_OUTPUT_BYTES} bytes (COMMAND_MAX_OUTPUT_BYTES); it was killed`,
      });
      const [stdout] = (error as RunnerError).output;
      expect(Buffer.from(stdout!).toString()).toBe('y\n'.repeat(MAX_OUTPUT_BYTES / 2));
    });

    it('bounds stderr too', async () => {
      const runner = await loaded('sh');
      const error = await rejectionOf(runner.run(argsBytes('-c', 'yes >&2'), context()));
      expect(error).toMatchObject({ kind: 'fatal', message: expect.stringContaining('output exceeded') as unknown });
    });
  });

  describe('abort', () => {
    it('kills the child within the abort and rejects with the signal reason', async () => {
      const seconds = uniqueSleepSeconds();
      await expectAbortKills('sleep', [seconds], seconds);
    });

    it('kills a shell that ignores SIGTERM and the child it is waiting for', async () => {
      const seconds = uniqueSleepSeconds();
      await expectAbortKills('sh', ['-c', `trap "" TERM; sleep ${seconds}; echo done`], seconds);
    });

    it('does not start the child when the signal is already aborted', async () => {
      const runner = await loaded('sleep');
      const reason = new Error('cancelled');
      const seconds = uniqueSleepSeconds();
      await expect(runner.run(argsBytes(seconds), context(AbortSignal.abort(reason)))).rejects.toBe(reason);
      expect(liveProcessesMentioning(seconds)).toEqual([]);
    });
  });
});
