/**
 * A server child process for outage tests (redis-server, mariadbd) that can be stopped with a chosen signal and
 * started again from the same command line, keeping its output across restarts.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReadinessOptions {
  /** answers true once the server serves requests; errors count as "not yet" */
  readonly ready: () => Promise<boolean>;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

export class RestartableProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  /**
   * @param name how messages name the server, e.g. `redis-server`
   * @param command the executable
   * @param args its arguments, the same at every start
   */
  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
  ) {}

  /** true from start() until the process exits */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** everything the process printed, over all its runs */
  output(): string {
    return this.log;
  }

  /**
   * Spawns the process and resolves once `ready()` answers true. Rejects (and kills the process) when it exits first
   * or is not ready in time.
   */
  async start(options: ReadinessOptions): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let spawnFailure: Error | undefined;
    child.stdout.on('data', (b: Buffer) => (this.log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (this.log += b.toString()));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnFailure = err;
        resolve();
      });
      child.once('close', () => resolve());
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnFailure !== undefined) throw new Error(`cannot run ${this.command}: ${spawnFailure.message}`);
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.log}`);
      if (await options.ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        await this.stop('SIGKILL');
        throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.log}`);
      }
      await sleep(50);
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `killAfterMs`. Does nothing when not running. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', killAfterMs = 20_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return this.exited;
    child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await this.exited;
    clearTimeout(force);
  }
}

/** A loopback TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port === 0 ? reject(new Error('the OS gave no port')) : resolve(port)));
    });
  });
}
