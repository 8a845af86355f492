/**
 * jobworkerp-client end to end: the built CLI (dist/apps/cli/main.js) run as a process against a real all-in-one.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');
const TOKEN = 'e2e-cli-secret';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a clean environment (plus `env`) and returns its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** stderr must be exactly one line; returns it. */
function oneLine(run: Run): string {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0]!;
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('jobworkerp-client against a real all-in-one', () => {
  let server: ServerProcess;
  let secured: ServerProcess;
  let on: (...args: string[]) => Promise<Run>;

  beforeAll(async () => {
    [server, secured] = await Promise.all([startServer(), startServer({ env: { AUTH_TOKEN: TOKEN } })]);
    on = (...args) => cli(['-a', `http://${server.address}`, ...args]);
    const created = await Promise.all([
      on(
        'worker',
        'create',
        '-n',
        'echo',
        '-r',
        'COMMAND',
        '-s',
        '{"name":"echo"}',
        '--store-success',
        '--store-failure',
      ),
      on(
        'worker',
        'create',
        '-n',
        'later',
        '-r',
        '1',
        '-s',
        '{"name":"echo"}',
        '--response-type',
        'LISTEN_AFTER',
        '--store-success',
        '--store-failure',
      ),
      on('worker', 'create', '-n', 'sleeper', '-r', 'COMMAND', '-s', '{"name":"sleep"}'),
    ]);
    for (const c of created) expect(c, c.stderr).toMatchObject({ code: 0, stderr: '' });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), secured?.stop()]);
  });

  it('creates a COMMAND worker and prints it as a card', async () => {
    const { code, stdout } = await on('worker', 'find-by-name', '-n', 'echo');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^name\s+echo$/m);
    expect(stdout).toMatch(/^runner_name\s+COMMAND$/m);
    expect(stdout).toMatch(/^runner_settings\s+\{"name":"echo"\}$/m);
    expect(stdout).toMatch(/^response_type\s+DIRECT$/m);
  });

  it('enqueues on a DIRECT worker and prints the decoded result', async () => {
    const run = await on('job', 'enqueue', '-w', 'echo', '-a', '{"args":["hello"]}');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^job_id\s+\d+$/m);
    expect(run.stdout).toMatch(/^status\s+SUCCESS$/m);
    expect(run.stdout).toMatch(/^output\s+hello$/m);
    expect(run.stdout).toMatch(/^args\s+\{"args":\["hello"\]\}$/m);
    expect(run.stdout).toMatch(/^start_time\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/m);
  });

  it('enqueues on a LISTEN_AFTER worker and gets the result with --listen and with job-result listen', async () => {
    const listened = await on('job', 'enqueue', '-w', 'later', '-a', '{"args":["hello"]}', '--listen');
    expect(listened).toMatchObject({ code: 0, stderr: '' });
    expect(listened.stdout).toMatch(/^status\s+SUCCESS$/m);
    expect(listened.stdout).toMatch(/^output\s+hello$/m);

    const queued = await on('--format', 'json', 'job', 'enqueue', '-w', 'later', '-a', '{"args":["hello"]}');
    expect(queued.code).toBe(0);
    const [only] = jsonLines(queued.stdout);
    expect(Object.keys(only!)).toEqual(['job_id']);
    const jobId = String(only!['job_id']);
    const later = await on('--format', 'json', 'job-result', 'listen', '-j', jobId, '-w', 'later');
    expect(later.code).toBe(0);
    expect(jsonLines(later.stdout)).toEqual([
      expect.objectContaining({ job_id: Number(jobId), worker_name: 'later', status: 'SUCCESS', output: ['hello\n'] }),
    ]);
  });

  it('prints aligned tables, and one stable JSON object per record with --format json', async () => {
    for (let i = 0; i < 2; i++)
      expect((await on('job', 'enqueue', '-w', 'echo', '-a', '{"args":["hello"]}')).code).toBe(0);

    const table = await on('job-result', 'list');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+JOB_ID\s+WORKER_NAME\s+STATUS\s+OUTPUT\s+ARGS\s+START_TIME\s+END_TIME$/);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      // every column starts where its header does
      expect(row.indexOf('SUCCESS'), row).toBe(header!.indexOf('STATUS'));
      expect(row.indexOf('hello'), row).toBe(header!.indexOf('OUTPUT'));
    }

    const json = await on('--format', 'json', 'job-result', 'list');
    expect(json.code).toBe(0);
    const records = jsonLines(json.stdout);
    expect(records).toHaveLength(rows.length);
    for (const r of records) {
      expect(Object.keys(r)).toEqual([
        'id',
        'job_id',
        'worker_id',
        'worker_name',
        'status',
        'output',
        'args',
        'uniq_key',
        'retried',
        'max_retry',
        'priority',
        'timeout',
        'enqueue_time',
        'run_after_time',
        'start_time',
        'end_time',
        'response_type',
        'store_success',
        'store_failure',
      ]);
      expect(r).toMatchObject({
        status: 'SUCCESS',
        output: ['hello\n'],
        args: { args: ['hello'] },
        priority: 'PRIORITY_MEDIUM',
      });
      expect(new Date(r['end_time'] as string).toISOString()).toBe(r['end_time']);
    }

    const workers = jsonLines((await on('--format', 'json', 'worker', 'list')).stdout);
    expect(workers.map((w) => w['name'])).toEqual(expect.arrayContaining(['echo', 'later', 'sleeper']));
    expect(workers.find((w) => w['name'] === 'later')).toMatchObject({
      runner_name: 'COMMAND',
      runner_settings: { name: 'echo' },
      response_type: 'LISTEN_AFTER',
    });
    expect((await on('--format', 'json', 'worker', 'count')).stdout).toBe(`{"total":${workers.length}}\n`);
  });

  it('tells the job timeout (-t after enqueue) from the call deadline (-t before the command)', async () => {
    const jobTimeout = await on('-t', '10000', 'job', 'enqueue', '-w', 'sleeper', '-a', '{"args":["5"]}', '-t', '200');
    expect(jobTimeout.code).toBe(0);
    expect(jobTimeout.stdout).toMatch(/^status\s+MAX_RETRY$/m);
    expect(jobTimeout.stdout).toMatch(/^output\s+.*timed out after 200 ms/m);

    const deadline = await on('-t', '300', 'job', 'enqueue', '-w', 'sleeper', '-a', '{"args":["2"]}');
    expect(deadline.code).toBe(1);
    expect(oneLine(deadline)).toMatch(/^error: DEADLINE_EXCEEDED: /);
  });

  it('streams the results of a worker until Ctrl-C, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      [CLI, '-a', server.address, '--format', 'json', 'job-result', 'listen-stream', '-w', 'later'],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // the stream has no "subscribed" signal: enqueue until a result shows up
    for (let i = 0; i < 50 && !stdout.includes('streamed'); i++) {
      expect((await on('job', 'enqueue', '-w', 'later', '-a', '{"args":["streamed"]}')).code).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(jsonLines(stdout)[0]).toMatchObject({ worker_name: 'later', status: 'SUCCESS', output: ['streamed\n'] });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('updates a worker, and lists, finds and deletes a scheduled job', async () => {
    const created = await on(
      '--format',
      'json',
      'worker',
      'create',
      '-n',
      'quiet',
      '-r',
      'COMMAND',
      '-s',
      '{"name":"true"}',
      '--response-type',
      'NO_RESULT',
      '--retry-type',
      'constant',
    );
    expect(created.code, created.stderr).toBe(0);
    const worker = jsonLines(created.stdout)[0]!;
    expect(worker).toMatchObject({
      response_type: 'NO_RESULT',
      retry_policy: { type: 'CONSTANT', max_retry: 3 },
      channel: null,
    });

    const updated = await on(
      '--format',
      'json',
      'worker',
      'update',
      '-i',
      String(worker['id']),
      '-c',
      'slow',
      '--store-failure',
      '--retry-max-retry',
      '1',
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(jsonLines(updated.stdout)[0]).toMatchObject({
      name: 'quiet',
      channel: 'slow',
      store_success: false,
      store_failure: true,
      retry_policy: { type: 'CONSTANT', max_retry: 1 },
    });
    // jobworkerp-client's forms: --channel without a name (the default channel), --store-failure with a value
    const reset = await on(
      '--format',
      'json',
      'worker',
      'update',
      '--id',
      String(worker['id']),
      '--channel',
      '--store-failure',
      'false',
    );
    expect(reset.code, reset.stderr).toBe(0);
    expect(jsonLines(reset.stdout)[0]).toMatchObject({ name: 'quiet', channel: null, store_failure: false });
    const noRetry = await on(
      'worker',
      'update',
      '-i',
      String(worker['id']),
      '--retry-type',
      'NONE',
      '--retry-interval',
      '5',
    );
    expect(noRetry.code).toBe(2);
    expect(oneLine(noRetry)).toMatch(/retry options have no effect with retry type NONE/);

    const runAfter = new Date(Date.now() + 3_600_000).toISOString();
    const enqueued = await on(
      '--format',
      'json',
      'job',
      'enqueue',
      '-w',
      'quiet',
      '-a',
      '{"args":[]}',
      '-r',
      runAfter,
      '-p',
      'high',
    );
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const jobId = String(jsonLines(enqueued.stdout)[0]!['job_id']);

    const listed = jsonLines((await on('--format', 'json', 'job', 'list')).stdout);
    expect(listed).toContainEqual(
      expect.objectContaining({
        id: Number(jobId),
        worker_name: 'quiet',
        run_after_time: runAfter,
        priority: 'PRIORITY_HIGH',
      }),
    );
    const status = await on('job-status', 'find', '-i', jobId);
    expect(status.stdout).toMatch(/^status\s+PENDING$/m);
    expect((await on('job', 'delete', '-i', jobId)).stdout).toMatch(/^deleted\s+true$/m);
    const gone = await on('job', 'find', '-i', jobId);
    expect(gone.code).toBe(1);
    expect(oneLine(gone)).toMatch(/^error: NOT_FOUND: job \d+ does not exist/);
  });

  it('an unknown worker is one line with NOT_FOUND and exit code 1', async () => {
    const run = await on('job', 'enqueue', '-w', 'nope', '-a', '{"args":["hello"]}');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(oneLine(run)).toBe('error: NOT_FOUND: worker "nope" does not exist');
  });

  it('bad JSON is one line with the parse message and exit code 2', async () => {
    const run = await on('job', 'enqueue', '-w', 'echo', '-a', '{"args":["hello"');
    expect(run.code).toBe(2);
    expect(oneLine(run)).toMatch(/^error: -a\/--args is not valid JSON: \S/);

    const settings = await on('worker', 'create', '-n', 'broken', '-r', 'COMMAND', '-s', "{name:'echo'}");
    expect(settings.code).toBe(2);
    expect(oneLine(settings)).toMatch(/^error: -s\/--settings is not valid JSON: /);
  });

  it('a field the runner schema does not know is named, with exit code 2', async () => {
    const args = await on('job', 'enqueue', '-w', 'echo', '-a', '{"argz":["hello"]}');
    expect(args.code).toBe(2);
    expect(oneLine(args)).toBe('error: -a/--args: CommandArgs has no field "argz" (fields: args)');

    const settings = await on('worker', 'create', '-n', 'typo', '-r', 'COMMAND', '-s', '{"command":"echo"}');
    expect(settings.code).toBe(2);
    expect(oneLine(settings)).toMatch(/CommandRunnerSettings has no field "command"/);
    // nothing was created
    expect((await on('worker', 'find-by-name', '-n', 'typo')).code).toBe(1);
  });

  it('a server that is down is one line with UNAVAILABLE and the address, exit code 1, promptly', async () => {
    const port = await closedPort();
    const started = Date.now();
    const run = await cli(['-a', `http://127.0.0.1:${port}`, 'worker', 'list']);
    // a refused connection fails at once instead of waiting out the 5 s connect deadline
    expect(Date.now() - started).toBeLessThan(4000);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(oneLine(run)).toMatch(new RegExp(`^error: UNAVAILABLE: .*127\\.0\\.0\\.1:${port}`));
  });

  it('--help exits 0 and shows examples', async () => {
    const root = await cli(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/Examples:\n {2}\$ jobworkerp-client /);
    const enqueue = await cli(['job', 'enqueue', '--help']);
    expect(enqueue.code).toBe(0);
    expect(enqueue.stdout).toContain(`$ jobworkerp-client job enqueue --worker echo --args '{"args":["hello"]}'`);
    expect(enqueue.stdout).toMatch(/Here -t is the job timeout/);
  });

  it('sends the auth token from --auth-token or JOBWORKERP_AUTH_TOKEN, and never prints it', async () => {
    const address = `http://${secured.address}`;
    const without = await cli(['-a', address, 'worker', 'count']);
    expect(without.code).toBe(1);
    expect(oneLine(without)).toMatch(/^error: UNAUTHENTICATED: .*--auth-token/);

    const wrong = await cli(['-a', address, '--auth-token', 'not-it', 'worker', 'count']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).not.toContain('not-it');
    expect(wrong.stderr).not.toContain(TOKEN);

    const flag = await cli(['-a', address, '--auth-token', TOKEN, 'worker', 'count']);
    expect(flag).toMatchObject({ code: 0, stdout: 'total  0\n' });
    const env = await cli(['-a', address, 'worker', 'count'], { JOBWORKERP_AUTH_TOKEN: TOKEN });
    expect(env).toMatchObject({ code: 0, stdout: 'total  0\n' });
    const help = await cli(['--help'], { JOBWORKERP_AUTH_TOKEN: TOKEN });
    expect(help.stdout).not.toContain(TOKEN);
  });
});
