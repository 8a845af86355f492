/**
 * The single executables (`npm run build:binary`): both are built once, copied alone into an empty folder and run
 * from there, with no node_modules and no sources anywhere near them. The README's "Single binary" client lines
 * run as written.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeShellBlocks } from '../support/readme.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';

const run = promisify(execFile);
const BINARIES = ['jobworkerp-all-in-one', 'jobworkerp-client'];

describe('single executables', () => {
  let dir: string;
  let tmp: string;
  let server: ServerProcess | undefined;

  /** Runs the client binary from the empty folder; returns its JSON lines. */
  async function client(...args: string[]): Promise<Record<string, unknown>[]> {
    const { stdout } = await run(
      join(dir, 'jobworkerp-client'),
      ['-a', `http://${server!.address}`, '--format', 'json', ...args],
      { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir }, timeout: 30_000 },
    );
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeAll(async () => {
    await run(process.execPath, [join(REPO_ROOT, 'scripts/build-binary.mjs')], { cwd: REPO_ROOT, timeout: 600_000 });
    dir = mkdtempSync(join(tmpdir(), 'jw-binary-'));
    for (const name of BINARIES) copyFileSync(join(REPO_ROOT, 'dist/bin', name), join(dir, name));
    // the echo plugin has no imports: it checks that the plugin thread entry travels inside the executable
    cpSync(join(REPO_ROOT, 'plugins/echo'), join(dir, 'plugins/echo'), { recursive: true });
    tmp = join(dir, 'tmp');
    mkdirSync(tmp);
  }, 660_000);

  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a DIRECT job with the client binary against the all-in-one binary, SQLite file where configured', async () => {
    expect(readdirSync(dir).sort()).toEqual([...BINARIES, 'plugins', 'tmp']);
    server = await startServer({
      command: [join(dir, 'jobworkerp-all-in-one')],
      dataDir: dir,
      env: {
        PATH: '/usr/bin:/bin',
        HOME: dir,
        TMPDIR: tmp,
        SQLITE_URL: 'sqlite://state/jobs.sqlite3',
        PLUGINS_RUNNER_DIR: './plugins',
        // nothing listens there: the OpenTelemetry SDK inside the executable loads, and failed exports only warn
        OTLP_ADDR: 'http://127.0.0.1:9',
      },
      startTimeoutMs: 60_000,
    });
    expect(server.output()).toContain('jobworkerp traces sent to http://127.0.0.1:9/v1/traces');
    // the embedded files live in one private folder for the process's life
    const [privateDir, ...others] = readdirSync(tmp);
    expect(others).toEqual([]);
    expect(statSync(join(tmp, privateDir!)).mode & 0o777).toBe(0o700);

    // the README's client lines, as written, on this server's port: a worker, then a DIRECT job
    const lines = readmeShellBlocks('Single binary')
      .flatMap((block) => block.split('\n'))
      .filter((line) => line.startsWith('./jobworkerp-client '));
    expect(lines).toHaveLength(2);
    const outputs: string[] = [];
    for (const line of lines) {
      const { stdout } = await run('bash', ['-c', line.replaceAll('127.0.0.1:9000', server.address)], {
        cwd: dir,
        env: { PATH: '/usr/bin:/bin', HOME: dir },
        timeout: 30_000,
      });
      outputs.push(stdout);
    }
    expect(outputs[0]).toMatch(/response_type\s+DIRECT/);
    expect(outputs[1]).toMatch(/status\s+SUCCESS/);
    expect(outputs[1]).toMatch(/output\s+hello/);

    await client('worker', 'create', '-n', 'echo-plugin', '-r', 'EchoPlugin', '--store-success');
    const [echoed] = await client('job', 'enqueue', '-w', 'echo-plugin', '-a', 'from a thread');
    expect(echoed).toMatchObject({ status: 'SUCCESS' });
    expect(JSON.stringify(echoed)).toContain('from a thread');

    await server.stopKeepingData();
    expect(readdirSync(tmp)).toEqual([]);
    const file = join(dir, 'state/jobs.sqlite3');
    expect(existsSync(file)).toBe(true);
    const db = new Database(file, { readonly: true });
    try {
      const names = db.prepare('SELECT name FROM worker ORDER BY name').all() as { name: string }[];
      expect(names.map((r) => r.name)).toEqual(['echo', 'echo-plugin']);
    } finally {
      db.close();
    }
  });
});
