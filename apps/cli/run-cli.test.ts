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
  const paths = commandPaths(
    buildProgram(new AbortController().signal, { out: () => undefined, err: () => undefined }),
  );

  it('has the commands of jobworkerp-client', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining([
        'runner find',
        'runner list',
        'runner delete',
        'runner count',
        'worker create',
        'worker find',
        'worker find-by-name',
        'worker list',
        'worker update',
        'worker delete',
        'worker count',
        'job enqueue',
        'job find',
        'job list',
        'job delete',
        'job count',
        'job-result find',
        'job-result listen',
        'job-result listen-stream',
        'job-result list',
        'job-result list-by-job-id',
        'job-result delete',
        'job-result count',
        'job-status find',
        'job-status list',
      ]),
    );
  });

  it.each(paths.map((p) => [p.join(' ') || '(root)', p] as const))(
    '%s --help exits 0 and shows an example',
    async (_, path) => {
      const { code, out, err } = await run(...path, '--help');
      expect(code).toBe(0);
      expect(err).toBe('');
      expect(out).toMatch(/Examples:\n {2}\$ jobworkerp-client /);
    },
  );

  it('reports a usage error on one line with exit code 2', async () => {
    const missing = await run('worker', 'create', '-n', 'x');
    expect(missing).toMatchObject({ code: 2, out: '' });
    expect(missing.err).toBe("error: required option '-r, --runner-id <id|name>' not specified\n");

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

  /** The flags of jobworkerp-client (v0.7 era), per command: every one is accepted under the same name. */
  const UPSTREAM_FLAGS: Record<string, string[]> = {
    '': ['-a', '--address', '-t', '--timeout', '-V', '--version'],
    'worker create': [
      '-n',
      '--name',
      '-r',
      '--runner-id',
      '-s',
      '--settings',
      '-p',
      '--periodic',
      '-c',
      '--channel',
      '-q',
      '--queue-type',
      '--response-type',
      '--store-success',
      '--store-failure',
      '--next-workers',
      '--use-static',
    ],
    'worker update': [
      '-i',
      '--id',
      '-n',
      '--name',
      '-r',
      '--runner-id',
      '-s',
      '--settings',
      '-p',
      '--periodic',
      '-c',
      '--channel',
      '-q',
      '--queue-type',
      '--response-type',
      '--store-success',
      '--store-failure',
      '--next-workers',
      '--use-static',
    ],
    'worker find': ['-i', '--id'],
    'worker delete': ['-i', '--id'],
    'worker find-by-name': ['-n', '--name'],
    'worker list': ['-o', '--offset', '-l', '--limit'],
    'job enqueue': [
      '-w',
      '--worker',
      '-a',
      '--args',
      '-u',
      '--unique-key',
      '-r',
      '--run-after-time',
      '-p',
      '--priority',
      '-t',
      '--timeout',
    ],
    'job find': ['-i', '--id'],
    'job delete': ['-i', '--id'],
    'job list': ['-o', '--offset', '-l', '--limit'],
    'job-result listen': ['-j', '--job-id', '-w', '--worker', '-t', '--timeout'],
    'job-result listen-stream': ['-w', '--worker'],
    'job-result find': ['-i', '--id'],
    'job-result delete': ['-i', '--id'],
    'job-result list': ['-o', '--offset', '-l', '--limit'],
    'job-result list-by-job-id': ['-j', '--job-id'],
    'runner find': ['-i', '--id'],
    'runner delete': ['-i', '--id'],
    'runner list': ['-o', '--offset', '-l', '--limit'],
    'runner count': [],
    'worker count': [],
    'job count': [],
    'job-result count': [],
  };

  it.each(Object.entries(UPSTREAM_FLAGS))('%s accepts the flags of jobworkerp-client', (path, flags) => {
    let cmd: Command = buildProgram(new AbortController().signal, { out: () => undefined, err: () => undefined });
    for (const name of path.split(' ').filter((p) => p !== '')) cmd = cmd.commands.find((c) => c.name() === name)!;
    expect(cmd, path).toBeDefined();
    const known = cmd.options.flatMap((o) => [o.short, o.long]);
    expect(flags.filter((f) => !known.includes(f))).toEqual([]);
  });

  it('keeps its own flag names as other names of the upstream ones', () => {
    const root = buildProgram(new AbortController().signal, { out: () => undefined, err: () => undefined });
    const longs = (path: string): (string | undefined)[] => {
      let cmd = root;
      for (const name of path.split(' ')) cmd = cmd.commands.find((c) => c.name() === name)!;
      return cmd.options.map((o) => o.long);
    };
    expect(longs('worker create')).toEqual(expect.arrayContaining(['--runner']));
    expect(longs('job enqueue')).toEqual(expect.arrayContaining(['--uniq-key', '--run-after', '--listen']));
    expect(longs('job-result listen')).toEqual(expect.arrayContaining(['--listen-timeout']));
  });

  it('names a misspelled flag on one line and suggests the closest one, before a required option it lacks', async () => {
    const typo = await run('worker', 'create', '--name', 'x', '--runer-id', '1');
    expect(typo).toMatchObject({ code: 2, out: '' });
    expect(typo.err).toBe("error: unknown option '--runer-id' (Did you mean --runner-id?)\n");

    const enqueue = await run('job', 'enqueue', '--worker', 'w', '--run-after-tim', '1000');
    expect(enqueue.err).toBe("error: unknown option '--run-after-tim' (Did you mean --run-after-time?)\n");

    const listen = await run('job-result', 'listen', '--job-id', '1', '--worker', 'w', '--timout', '5');
    expect(listen.err).toBe("error: unknown option '--timout' (Did you mean --timeout?)\n");
  });

  it('prints its version with --version and -V', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await run(flag)).toEqual({ code: 0, out: `${version}\n`, err: '' });
    }
  });

  it('rejects a switch value other than true or false', async () => {
    const bad = await run('worker', 'create', '-n', 'x', '-r', '1', '--store-success', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^error: option '--store-success \[bool\]' argument 'maybe' is invalid\. expected true or false/,
    );
  });
});
