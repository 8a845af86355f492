/**
 * Starts a real jobworkerp process (built into dist/) on a free port with an isolated database, for end-to-end tests.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findLogLine } from './log-lines.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  readonly address: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** everything the process printed so far */
  output(): string;
  /** SIGTERM and wait for exit (SIGKILL after killAfterMs); removes a data folder the harness made */
  stop(killAfterMs?: number): Promise<number | null>;
  /** SIGTERM and wait for exit, keeping the data folder for a restart */
  stopKeepingData(killAfterMs?: number): Promise<number | null>;
  readonly dataDir: string;
}

export interface StartOptions {
  readonly app?: 'all-in-one' | 'grpc-front' | 'worker';
  readonly env?: Record<string, string>;
  /** reuse a data folder (restart tests); a new temp folder when omitted */
  readonly dataDir?: string;
  readonly startTimeoutMs?: number;
  /** the program and its arguments; `node dist/apps/<app>/main.js` when omitted */
  readonly command?: readonly [string, ...string[]];
}

/**
 * The log line of a process that is ready: the front's listening line, or the worker's start line (no port). It is an
 * info line on stdout, JSON or plain (log-lines.ts), so the process runs with LOG_LEVEL info (the default here) or
 * lower and LOG_USE_STDOUT=true.
 */
const READY = /(?:listening on [^\s]*:(\d+))|(?:worker started)/;

/** The levels at which a process writes its ready line. */
const READY_LEVELS = new Set(['info', 'debug', 'trace']);

export function appEntry(app: string): string {
  const entry = join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` before the tests`);
  return entry;
}

export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const app = options.app ?? 'all-in-one';
  const level = options.env?.['LOG_LEVEL'] ?? 'info';
  if (!READY_LEVELS.has(level.trim().toLowerCase()) || options.env?.['LOG_USE_STDOUT']?.trim() === 'false') {
    throw new Error(
      `startServer reads the ready line from stdout: LOG_LEVEL must be info, debug or trace (not ${level}) and LOG_USE_STDOUT not false`,
    );
  }
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'jw-e2e-'));
  const [file, ...args] = options.command ?? [process.execPath, appEntry(app)];
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? dataDir,
    GRPC_ADDR: '127.0.0.1:0',
    SQLITE_URL: join(dataDir, 'jobworkerp.sqlite3'),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const child = spawn(file, args, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  /** stdout alone: a line of stderr never splits a log line in two */
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => {
    const text = b.toString();
    out += text;
    stdout += text;
  });
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      // a process that did not come up in time is not left running behind the failed test
      child.kill('SIGKILL');
      rej(new Error(`${app} did not start within ${options.startTimeoutMs ?? 20000} ms:\n${out}`));
    }, options.startTimeoutMs ?? 20_000);
    const check = (): void => {
      const m = findLogLine(stdout, READY);
      if (m !== undefined) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        res(m[1] === undefined ? 0 : Number(m[1]));
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${app} exited with code ${code} before listening:\n${out}`));
    });
  });

  const terminate = async (killAfterMs: number): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return {
    address: `127.0.0.1:${port}`,
    port,
    child,
    dataDir,
    output: () => out,
    stop: async (killAfterMs = 15_000) => {
      const code = await terminate(killAfterMs);
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    stopKeepingData: (killAfterMs = 15_000) => terminate(killAfterMs),
  };
}
