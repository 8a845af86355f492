/**
 * Runs the README's quick-start `buf curl` commands, as written, against a real all-in-one (on a free port instead
 * of 9000), so the README stays true.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.js';
import { readmeShellBlocks } from '../support/readme.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const exec = promisify(execFile);

/** The shell blocks of a README section that call buf curl, in order. */
function readmeCommands(section: string): string[] {
  return readmeShellBlocks(section).filter((cmd) => cmd.includes('buf curl'));
}

describe('README quick start', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lists runners, creates a worker and runs a job with buf curl', async () => {
    const commands = readmeCommands('Quick start').filter((c) => !c.includes('jobworkerp-auth'));
    expect(commands).toHaveLength(3);
    const outputs: string[] = [];
    for (const command of commands) {
      const { stdout } = await exec('bash', ['-c', command.replaceAll('127.0.0.1:9000', server.address)], {
        cwd: REPO_ROOT,
      });
      outputs.push(stdout);
    }
    const [runners, created, enqueued] = outputs;
    expect(runners).toContain('"name": "COMMAND"');
    expect(JSON.parse(created!)).toMatchObject({ id: { value: expect.any(String) } });
    const result = JSON.parse(enqueued!);
    expect(result.result.data.status ?? 'SUCCESS').toBe('SUCCESS');
    expect(result.result.data.output.items).toEqual(['aGVsbG8gd29ybGQK']);
  });

  it('with AUTH_TOKEN set, buf curl needs the header for the call and for reflection', async () => {
    const [command, ...more] = readmeCommands('Quick start').filter((c) => c.includes('jobworkerp-auth'));
    expect(more).toEqual([]);
    const token = /'jobworkerp-auth: ([^']+)'/.exec(command!)![1]!;
    const secured = await startServer({ env: { AUTH_TOKEN: token } });
    try {
      const run = (cmd: string) =>
        exec('bash', ['-c', cmd.replaceAll('127.0.0.1:9000', secured.address)], { cwd: REPO_ROOT });
      const { stdout } = await run(command!);
      expect(stdout).toContain('"name": "COMMAND"');
      // the README's reason for --reflect-header: without it the same command fails
      const withoutReflectHeader = command!.replace(/--reflect-header '[^']*'/, '');
      expect(withoutReflectHeader).not.toContain('--reflect-header');
      await expect(run(withoutReflectHeader)).rejects.toMatchObject({
        stderr: expect.stringMatching(/failed to find service named/),
      });
    } finally {
      await secured.stop();
    }
  }, 60_000);
});
