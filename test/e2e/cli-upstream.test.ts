/**
 * jobworkerp-rs's README walks through its client, jobworkerp-client, command by command. These are those commands as
 * written there (only the server address and the URL of the HTTP worker differ), run with the built CLI against a
 * real all-in-one: each exits 0 and prints what the original prints, decoded.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../apps/cli/run-cli.js';
import { listenOnLoopback } from '../support/http-listen.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');

/** The README's commands, without their `N. $ ./target/release/` prefix. `<got job id above>` is filled in. */
const WALKTHROUGH = {
  runnerList: 'jobworkerp-client runner list',
  createHttp: `jobworkerp-client worker create --name "ExampleRequest" --runner-id 2 --settings '{"base_url":"https://www.example.com/search"}' --response-type DIRECT`,
  enqueueById: `jobworkerp-client job enqueue --worker 1 --args '{"headers":[],"method":"GET","path":"/search","queries":[{"key":"q","value":"test"}]}'`,
  enqueueByName: `jobworkerp-client job enqueue --worker "ExampleRequest" --args '{"headers":[],"method":"GET","path":"/search","queries":[{"key":"q","value":"test"}]}'`,
  createSleep: `jobworkerp-client worker create --name "SleepWorker" --runner-id 1 --settings '{"name":"sleep"}' --response-type LISTEN_AFTER --store-success --store-failure`,
  enqueueSleep: `jobworkerp-client job enqueue --worker 'SleepWorker' --args '{"args":["60"]}'`,
  listen: `jobworkerp-client job-result listen --job-id <got job id above> --timeout 70000 --worker 'SleepWorker'`,
  createPeriodic: `jobworkerp-client worker create --name "PeriodicEchoWorker" --runner-id 1 --settings '{"name":"echo"}' --periodic 3000 --response-type NO_RESULT --store-success --store-failure`,
  enqueuePeriodic: `jobworkerp-client job enqueue --worker 'PeriodicEchoWorker' --args '{"args":["Hello", "World", "!"]}' --run-after-time 1000`,
  deletePeriodic: 'jobworkerp-client job delete --id <got job id above>',
} as const;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A `key  value` line of a printed card. */
function field(stdout: string, key: string): string | undefined {
  return new RegExp(`^${key} +(.*)$`, 'm').exec(stdout)?.[1];
}

describe("jobworkerp-rs README's client walkthrough, as written", () => {
  let server: ServerProcess;
  let http: { port: number; close: () => Promise<void> };
  let requests: string[];

  /** Runs a walkthrough command through bash (its quoting as written), `jobworkerp-client` being the built CLI. */
  const sh = (command: string, jobId?: string): Promise<Run> => {
    const line = command
      .replace(/^jobworkerp-client /, `node ${CLI} -a http://${server.address} `)
      .replace('https://www.example.com/search', `http://127.0.0.1:${http.port}/search`)
      .replace('<got job id above>', jobId ?? '<no job id>');
    return new Promise((resolve) => {
      execFile(
        'bash',
        ['--norc', '-c', line],
        { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, timeout: 120_000 },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
  };

  beforeAll(async () => {
    requests = [];
    const site = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.setHeader('content-type', 'text/plain');
      res.end(`searched ${req.url ?? ''}`);
    });
    [server, http] = await Promise.all([
      startServer({ env: { JOB_QUEUE_FETCH_INTERVAL: '500' } }),
      listenOnLoopback(site),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), http?.close()]);
  });

  it('lists the runners', async () => {
    const run = await sh(WALKTHROUGH.runnerList);
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^\s*1\s+COMMAND\b/m);
    expect(run.stdout).toMatch(/^\s*2\s+HTTP_REQUEST\b/m);
  });

  it('creates an HTTP worker with --runner-id and runs a job by worker id and by name, decoded', async () => {
    const created = await sh(WALKTHROUGH.createHttp);
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(created.stdout, 'name')).toBe('ExampleRequest');
    expect(field(created.stdout, 'runner_name')).toBe('HTTP_REQUEST');
    expect(field(created.stdout, 'response_type')).toBe('DIRECT');
    const id = field(created.stdout, 'id')!;
    // "specify worker_id value ... created by `worker create`": the id this server gave
    for (const command of [
      WALKTHROUGH.enqueueById.replace('--worker 1 ', `--worker ${id} `),
      WALKTHROUGH.enqueueByName,
    ]) {
      const run = await sh(command);
      expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(field(run.stdout, 'status')).toBe('SUCCESS');
      expect(field(run.stdout, 'worker_name')).toBe('ExampleRequest');
      // the HttpRequestResult decoded: status code and body
      expect(field(run.stdout, 'output')).toMatch(/"status_code":200/);
      expect(field(run.stdout, 'output')).toContain('"content":"searched /search?q=test"');
      expect(field(run.stdout, 'args')).toContain('"method":"GET"');
    }
    expect(requests).toEqual(['/search?q=test', '/search?q=test']);
  });

  it('listens for the result of a LISTEN_AFTER sleep job and exits 0 once it has it', async () => {
    const created = await sh(WALKTHROUGH.createSleep);
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(created.stdout, 'response_type')).toBe('LISTEN_AFTER');
    const enqueued = await sh(WALKTHROUGH.enqueueSleep);
    expect(enqueued, enqueued.stderr).toMatchObject({ code: 0, stderr: '' });
    const jobId = field(enqueued.stdout, 'job_id')!;
    expect(jobId).toMatch(/^\d+$/);
    const listened = await sh(WALKTHROUGH.listen, jobId);
    expect(listened, listened.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(listened.stdout, 'job_id')).toBe(jobId);
    expect(field(listened.stdout, 'status')).toBe('SUCCESS');
    expect(field(listened.stdout, 'args')).toBe('{"args":["60"]}');
    // "You can request repeatedly": the result is there for a second listener too
    const again = await sh(WALKTHROUGH.listen, jobId);
    expect(again, again.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(again.stdout, 'status')).toBe('SUCCESS');
  }, 150_000);

  it('runs a periodic echo job at the times where t mod 3000 = 1000, and stops it with job delete --id', async () => {
    const created = await sh(WALKTHROUGH.createPeriodic);
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(created.stdout, 'periodic_interval')).toBe('3000');
    const enqueuedAt = Date.now();
    const enqueued = await sh(WALKTHROUGH.enqueuePeriodic);
    expect(enqueued, enqueued.stderr).toMatchObject({ code: 0, stderr: '' });
    const jobId = field(enqueued.stdout, 'job_id')!;

    // two runs, each due at a time on the grid (the first one too: not "at once")
    let runs: Array<Record<string, unknown>> = [];
    const until = Date.now() + 30_000;
    while (runs.length < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      const listed = await sh(`jobworkerp-client --format json job-result list-by-job-id --job-id ${jobId}`);
      expect(listed.code, listed.stderr).toBe(0);
      runs =
        listed.stdout.trim() === ''
          ? []
          : listed.stdout
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as Record<string, unknown>);
    }
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const r of runs) {
      expect(r).toMatchObject({
        status: 'SUCCESS',
        output: ['Hello World !\n'],
        args: { args: ['Hello', 'World', '!'] },
      });
      const due = Date.parse(r['run_after_time'] as string);
      expect(due % 3000).toBe(1000);
      expect(due).toBeGreaterThanOrEqual(enqueuedAt);
    }

    const deleted = await sh(WALKTHROUGH.deletePeriodic, jobId);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(field(deleted.stdout, 'deleted')).toBe('true');
    const gone = await sh(`jobworkerp-client job find --id ${jobId}`);
    expect(gone.code).toBe(1);
  }, 60_000);

  it('says what it waits for in a note, which main.ts shows only when stderr is a terminal', async () => {
    const notes: string[] = [];
    let out = '';
    const code = await runCli(
      [
        'node',
        'jobworkerp-client',
        '-a',
        server.address,
        'job',
        'enqueue',
        '--worker',
        'ExampleRequest',
        '--args',
        '{"method":"GET","path":"/"}',
      ],
      new AbortController().signal,
      { out: (t) => (out += t), err: (t) => notes.push(`err: ${t}`), note: (t) => notes.push(t) },
    );
    expect(code).toBe(0);
    expect(field(out, 'status')).toBe('SUCCESS');
    expect(notes).toEqual(['waiting for the result of the job (worker "ExampleRequest" is DIRECT)...\n']);

    // the built CLI on a terminal (util-linux `script` gives it one) shows it; with pipes (above) stderr stays empty
    const command = `node ${CLI} -a ${server.address} job enqueue --worker ExampleRequest --args '{"method":"GET","path":"/"}'`;
    const tty = await new Promise<Run>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toContain('waiting for the result of the job (worker "ExampleRequest" is DIRECT)...');
    expect(tty.stdout).toMatch(/^status +SUCCESS/m);
  });
});

describe('next_workers chaining, seen with the CLI', () => {
  let server: ServerProcess;
  const on = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, '-a', server.address, ...args],
        { cwd: REPO_ROOT, timeout: 30_000 },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('fails the chained job, saying why, when the output is not args of the next runner', async () => {
    const next = await on(
      'worker',
      'create',
      '--name',
      'second',
      '--runner-id',
      'COMMAND',
      '--settings',
      '{"name":"echo"}',
      '--response-type',
      'NO_RESULT',
      '--store-success',
      '--store-failure',
    );
    expect(next, next.stderr).toMatchObject({ code: 0 });
    const first = await on(
      'worker',
      'create',
      '--name',
      'first',
      '--runner-id',
      'COMMAND',
      '--settings',
      '{"name":"echo"}',
      '--next-workers',
      'second',
    );
    expect(first, first.stderr).toMatchObject({ code: 0 });
    const run = await on('job', 'enqueue', '--worker', 'first', '--args', '{"args":["hello"]}');
    expect(field(run.stdout, 'status')).toBe('SUCCESS');

    // echo prints text ("hello\n"), not a CommandArgs message: the second job fails without running
    let chained: Record<string, unknown> | undefined;
    const until = Date.now() + 20_000;
    while (chained === undefined && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      const listed = await on('--format', 'json', 'job-result', 'list');
      chained = listed.stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r['worker_name'] === 'second');
    }
    expect(chained).toMatchObject({ status: 'FATAL_ERROR' });
    expect((chained!['output'] as string[])[0]).toMatch(
      /^next_workers: the output bytes of job \d+ \(worker "first"\) are not a valid protobuf CommandArgs: .*so it cannot be the args of worker "second" \(runner COMMAND\)$/,
    );
  });
});
