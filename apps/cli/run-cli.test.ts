import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './build-program.js';
import { runCli } from './run-cli.js';

/** Runs the CLI in-process (no server is contacted by these command lines). */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'jobworkerp-client', ...args], new AbortController().signal, {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  return { code, out, err };
}

/** Every command path: [], ['worker'], ['worker', 'create'], ... */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [prefix, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe('jobworkerp-client command line', () => {
  const paths = commandPaths(buildProgram(new AbortController().signal, { out: () => undefined, err: () => undefined }));

  it('has the commands of jobworkerp-client', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'runner find', 'runner list', 'runner delete', 'runner count',
        'worker create', 'worker find', 'worker find-by-name', 'worker list', 'worker update', 'worker delete', 'worker count',
        'job enqueue', 'job find', 'job list', 'job delete', 'job count',
        'job-result find', 'job-result listen', 'job-result listen-stream', 'job-result list', 'job-result list-by-job-id',
        'job-result delete', 'job-result count',
        'job-status find', 'job-status list',
      ]),
    );
  });

  it.each(paths.map((p) => [p.join(' ') || '(root)', p] as const))('%s --help exits 0 and shows an example', async (_, path) => {
    const { code, out, err } = await run(...path, '--help');
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/Examples:\n {2}\$ jobworkerp-client /);
  });

  it('reports a usage error on one line with exit code 2', async () => {
    const missing = await run('worker', 'create', '-n', 'x');
    expect(missing).toMatchObject({ code: 2, out: '' });
    expect(missing.err).toBe("error: required option '-r, --runner <id|name>' not specified\n");

    const badNumber = await run('job', 'find', '-i', 'seven');
    expect(badNumber.code).toBe(2);
    expect(badNumber.err).toMatch(/^error: option '-i, --id <id>' argument 'seven' is invalid\. [^\n]+\n$/);

    const badEnum = await run('worker', 'create', '-n', 'x', '-r', '1', '--queue-type', 'FAST');
    expect(badEnum.code).toBe(2);
    expect(badEnum.err).toMatch(/use one of NORMAL, WITH_BACKUP, FORCED_RDB\n$/);
  });

  it('says where a global option goes when it is given after the command', async () => {
    const { code, err } = await run('worker', 'list', '--format', 'json');
    expect(code).toBe(2);
    expect(err).toMatch(/^error: unknown option '--format' \(global options go before the command[^\n]*\)\n$/);
  });
});
