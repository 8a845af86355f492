/**
 * Runs the README's "Command-line client" shell blocks, as written, against a real all-in-one (on a free port
 * instead of 9000), so the walkthrough stays true.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.js';
import { readmeShellBlocks } from '../support/readme.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const exec = promisify(execFile);
/** The ```sh blocks of the README's command-line client section, in order. */
const sectionBlocks = (): string[] => readmeShellBlocks('Command-line client');

describe('README command-line client walkthrough', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates workers, runs jobs DIRECT and with --listen, lists the results and enqueues JSON lines', async () => {
    const blocks = sectionBlocks();
    expect(blocks).toHaveLength(5);
    const outputs: string[] = [];
    for (const block of blocks) {
      // every line must succeed, as a reader pasting the block would expect
      const script = `set -euo pipefail\n${block.replaceAll('127.0.0.1:9000', server.address)}`;
      const { stdout } = await exec('bash', ['-c', script], {
        cwd: REPO_ROOT,
        env: { ...process.env, JOBWORKERP_AUTH_TOKEN: '' },
      });
      outputs.push(stdout);
    }
    const [created, direct, listened, listed, streamed] = outputs;
    expect(created).toMatch(/^name\s+echo$/m);
    expect(created).toMatch(/^response_type\s+DIRECT$/m);
    expect(direct).toMatch(/^status\s+SUCCESS$/m);
    expect(direct).toMatch(/^output\s+hello$/m);
    expect(listened).toMatch(/^name\s+echo-later$/m);
    expect(listened).toMatch(/^response_type\s+LISTEN_AFTER$/m);
    expect(listened).toMatch(/^output\s+hello$/m);
    const results = listed!
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(results.map((r) => r['worker_name']).sort()).toEqual(['echo', 'echo-later']);
    for (const r of results)
      expect(r).toMatchObject({ status: 'SUCCESS', output: ['hello\n'], args: { args: ['hello'] } });
    expect(streamed).toMatch(/^line 1: job_id \d+\nline 2: job_id \d+\n$/);
  });
});
