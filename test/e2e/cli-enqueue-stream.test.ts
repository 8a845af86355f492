/**
 * `jobworkerp-client job enqueue-stream` end to end: the built CLI reads JSON lines from stdin and enqueues them
 * over one stream against a real all-in-one, printing one line per input line in order.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobworkerpClient, ResponseType } from '../../libs/client/src/index.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');
const HOUR_MS = 3_600_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `input` on its stdin. */
function cliWithInput(args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('jobworkerp-client job enqueue-stream', () => {
  let server: ServerProcess;
  let client: JobworkerpClient;

  beforeAll(async () => {
    server = await startServer();
    client = new JobworkerpClient({ address: server.address });
    await client.workers.create({
      name: 'later',
      runner: 'COMMAND',
      settings: { name: 'echo' },
      responseType: ResponseType.NO_RESULT,
    });
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  it('enqueues 1,000 lines, good and bad, and prints an id or the error of each line in order', async () => {
    const runAfterTime = Date.now() + HOUR_MS; // the jobs wait, so their args can be read back
    const bad: Record<number, [string, RegExp]> = {
      7: ['{"worker":"later","args":', /^line 7: error: not valid JSON/],
      100: [
        '{"worker":"nobody","args":{"args":["x"]}}',
        /^line 100: error: NOT_FOUND: worker "nobody" does not exist$/,
      ],
      250: ['{"worker":"later","args":{"argz":["x"]}}', /^line 250: error: args: CommandArgs has no field "argz"/],
      500: ['{"worker":"later","priority":"urgent"}', /^line 500: error: "priority": use one of/],
      750: ['{"worker":"later","colour":"red"}', /^line 750: error: unknown field "colour"/],
      999: ['["later"]', /^line 999: error: expected a JSON object/],
    };
    const input = Array.from({ length: 1000 }, (_, i) => {
      const line = i + 1;
      const priority = ['high', 'middle', 'low'][line % 3];
      return (
        bad[line]?.[0] ?? JSON.stringify({ worker: 'later', args: { args: [`line-${line}`] }, runAfterTime, priority })
      );
    });
    const run = await cliWithInput(['-a', server.address, 'job', 'enqueue-stream'], `${input.join('\n')}\n`);

    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toBe('error: 6 of 1000 lines were not enqueued (lines 7, 100, 250, 500, 750, 999)\n');
    const out = run.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(1000);
    const ids = new Map<number, number>();
    out.forEach((text, i) => {
      const line = i + 1;
      const expected = bad[line];
      if (expected !== undefined) {
        expect(text).toMatch(expected[1]);
      } else {
        const m = new RegExp(`^line ${line}: job_id (\\d+)$`).exec(text);
        expect(m, text).not.toBeNull();
        ids.set(line, Number(m![1]));
      }
    });
    expect(new Set(ids.values()).size).toBe(994);

    // each printed id is the job of its own line
    const jobs = await client.jobs.list({ limit: 10_000 });
    const argsById = new Map(jobs.map((j) => [j.id?.value, Buffer.from(j.data?.args ?? []).toString('utf8')]));
    for (const [line, id] of ids) expect(argsById.get(id), `line ${line}`).toContain(`line-${line}`);
    await Promise.all([...ids.values()].map((id) => client.jobs.delete(id)));
  }, 180_000);

  it('prints JSON lines with --format json, skips blank lines and exits 0 when every line was enqueued', async () => {
    const lines = [
      '{"worker":"later","args":{"args":["a"]}}',
      '',
      '{"worker":"later","args":{"args":["b"]},"timeout":5000}',
    ];
    const run = await cliWithInput(
      ['-a', server.address, '--format', 'json', 'job', 'enqueue-stream'],
      lines.join('\n'),
    );
    expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' });
    const out = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; job_id: number; error: null });
    expect(out.map((o) => [o.line, typeof o.job_id, o.error])).toEqual([
      [1, 'number', null],
      [3, 'number', null],
    ]);
  }, 60_000);
});
