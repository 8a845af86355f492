/**
 * Runs the README's "Cron schedules" shell blocks, as written, against a real all-in-one (on a free port instead of
 * 9000), so the example stays true.
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
});
