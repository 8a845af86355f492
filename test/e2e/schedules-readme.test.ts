/**
 * Runs the README's "Cron schedules" shell blocks, as written, against a real all-in-one (on a free port instead of
 * 9000), so the example stays true; then the rest of the `schedule` commands of the CLI.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeShellBlocks } from '../support/readme.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const exec = promisify(execFile);

describe('README cron schedules example', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates a schedule that runs a job every 2 seconds, shows it and deletes it', async () => {
    const blocks = readmeShellBlocks('Cron schedules');
    expect(blocks).toHaveLength(2);
    const outputs: string[] = [];
    for (const block of blocks) {
      const script = `set -euo pipefail\n${block.replaceAll('127.0.0.1:9000', server.address)}`;
      const { stdout } = await exec('bash', ['-c', script], {
        cwd: REPO_ROOT,
        env: { ...process.env, JOBWORKERP_AUTH_TOKEN: '' },
      });
      outputs.push(stdout);
    }
    const [created, after] = outputs;
    expect(created).toMatch(/^cron\s+\*\/2 \* \* \* \* \*$/m);
    expect(created).toMatch(/^worker\s+tick$/m);
    const lines = after!.trimEnd().split('\n');
    const results = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['worker_name'] === 'tick');
    expect(results.length).toBeGreaterThanOrEqual(2);
    // one job per tick, each enqueued within the first half second of an even second
    const seconds = results.map((r) => String(r['enqueue_time']).slice(0, 19));
    expect(new Set(seconds).size).toBe(results.length);
    for (const r of results) expect(String(r['enqueue_time'])).toMatch(/:\d[02468]\.[0-4]\d\dZ$/);
    for (const r of results) expect(r).toMatchObject({ status: 'SUCCESS', output: ['tick\n'] });
    expect(after).toMatch(/^next_tick\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z$/m);
    expect(after).toMatch(/^deleted\s+true$/m);
  }, 60_000);

  // uses the worker `tick` that the README's blocks created in the test above
  it('updates, lists, counts and deletes schedules, and reports bad input on one line', async () => {
    const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      exec(process.execPath, ['dist/apps/cli/main.js', '-a', server.address, ...args], { cwd: REPO_ROOT }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({ ...err }),
      );
    const created = await cli(
      '--format',
      'json',
      'schedule',
      'create',
      '-n',
      'yearly',
      '-c',
      '0 0 0 1 1 *',
      '-w',
      'tick',
    );
    expect(created.stderr).toBe('');
    const { id } = JSON.parse(created.stdout) as { id: number };
    const updated = await cli(
      '--format',
      'json',
      'schedule',
      'update',
      '-i',
      String(id),
      '-c',
      '0 0 9 * * MON-FRI 2098',
      '-z',
      'Europe/Paris',
      '--overlap',
      'skip',
      '--missed-tick',
      'run-once',
      '-a',
      '{"args":["weekday"]}',
    );
    expect(JSON.parse(updated.stdout)).toMatchObject({
      id,
      name: 'yearly',
      cron: '0 0 9 * * MON-FRI 2098',
      time_zone: 'Europe/Paris',
      worker: 'tick',
      args: { args: ['weekday'] },
      overlap: 'OVERLAP_SKIP',
      missed_tick: 'MISSED_TICK_RUN_ONCE',
      origin: 'SCHEDULE_ORIGIN_API',
      next_tick: '2098-01-01T08:00:00.000Z',
    });
    const listed = await cli('--format', 'json', 'schedule', 'list');
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { name: string }).name),
    ).toEqual(['yearly']);
    expect((await cli('schedule', 'count')).stdout).toMatch(/^total\s+1$/m);

    const bad = await cli('schedule', 'create', '-n', 'bad', '-c', '* * *', '-w', 'tick');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: INVALID_ARGUMENT: cron expression "\* \* \*" is not valid: .*\n$/);
    const unknown = await cli('schedule', 'create', '-n', 'bad', '-c', '* * * * *', '-w', 'nobody');
    expect([unknown.code, unknown.stderr]).toEqual([1, 'error: NOT_FOUND: worker "nobody" does not exist\n']);
    const zone = await cli('schedule', 'create', '-n', 'bad', '-c', '* * * * *', '-w', 'tick', '-z', 'Nowhere');
    expect(zone.stderr).toMatch(/^error: INVALID_ARGUMENT: time zone "Nowhere" is unknown/);

    expect((await cli('schedule', 'delete', '-i', String(id))).stdout).toMatch(/^deleted\s+true$/m);
    const gone = await cli('schedule', 'find', '-i', String(id));
    expect([gone.code, gone.stderr]).toEqual([1, `error: NOT_FOUND: schedule ${id} does not exist\n`]);
  }, 60_000);
});
