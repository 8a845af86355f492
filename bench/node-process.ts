/**
 * A Node.js child process of the benchmark (one of our apps, or the BullMQ worker): started with a clean
 * environment, ready once it prints its ready line, measured through /proc (peak RSS), stopped with SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findLogLine } from '../test/support/log-lines.js';

export interface NodeProcessOptions {
  /** for messages */
  readonly name: string;
  readonly script: string;
  readonly execArgv?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /**
   * the line that says the process is ready, matched against each complete stdout line (the message of a JSON log
   * line, see test/support/log-lines.ts); a first capture group, when present, is the port it listens on
   */
  readonly ready: RegExp;
  /** @default 30000 */
  readonly startTimeoutMs?: number;
}

export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  /** the port captured from the ready line; undefined for a process that serves nothing */
  readonly port: number | undefined;
  /** the process's peak resident set size so far (VmHWM), bytes; undefined where /proc is not available */
  peakRssBytes(): number | undefined;
  /** the last 64 KiB it printed (stdout and stderr), for error messages */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after killAfterMs; resolves once it has exited */
  stop(killAfterMs?: number): Promise<void>;
}

const OUTPUT_KEPT = 64 * 1024;

export async function startNodeProcess(options: NodeProcessOptions): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script], {
    cwd: options.cwd,
    env: { ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (chunk: Buffer): void => {
    out = (out + chunk.toString()).slice(-OUTPUT_KEPT);
  };
  // stdout alone until the process is ready: a line of stderr never splits the ready line in two
  let stdout = '';
  const appendStdout = (chunk: Buffer): void => {
    stdout += chunk.toString();
  };
  child.stdout.on('data', appendStdout);
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await waitForReady(
    child,
    options,
    () => out,
    () => stdout,
    exited,
  ).finally(() => child.stdout.off('data', appendStdout));
  const pid = child.pid!;

  return {
    name: options.name,
    pid,
    port,
    peakRssBytes: () => peakRss(pid),
    output: () => out,
    stop: async (killAfterMs = 20_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForReady(
  child: ChildProcess,
  options: NodeProcessOptions,
  output: () => string,
  stdout: () => string,
  exited: Promise<void>,
): Promise<number | undefined> {
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  return new Promise<number | undefined>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not get ready within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const check = (): void => {
      const match = findLogLine(stdout(), options.ready);
      if (match === undefined) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve(match[1] === undefined ? undefined : Number(match[1]));
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (code ${child.exitCode}) before it was ready:\n${output()}`));
    });
  });
}

/** VmHWM ("high water mark") of /proc/<pid>/status: the peak resident set size, in bytes. */
function peakRss(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match === null ? undefined : Number(match[1]) * 1024;
}
