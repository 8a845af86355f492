/**
 * Loaded runner instances of use_static workers, reused across jobs. Each worker gets up to `size` instances (the
 * concurrency of its channel in this process), each loaded once with the worker's settings and lent to one job at
 * a time.
 *
 * Life of an instance (a pool slot): created lazily, when a job finds no idle instance and fewer than `size`
 * exist → load() once → lent to a job → idle again after a normal end (a result, or a failure the runner reported
 * as a RunnerError), or closed and forgotten after an abort or an unexpected error (the next job creates a new
 * one). A worker's instances are dropped (idle ones closed at once, lent ones when their job ends) by drop() —
 * the worker was updated or deleted —, when a job brings other settings, another runner or another size, and by
 * close().
 *
 * State machine of the pool: 'open' → close() → 'closed' (no more instances are lent).
 */
import type { Logger, Worker } from '../../core/src/index.js';
import type { Runner, RunnerDefinition } from '../../runners/src/index.js';
import type { RunnerLease, RunnerSource } from './runner-source.js';

export class StaticRunnerPool {
  private readonly pools = new Map<number, WorkerRunners>();
  private closed = false;

  constructor(private readonly logger: Logger) {}

  /** Where the jobs of a use_static worker get their runner; `size` is its channel's concurrency here. */
  source(worker: Worker, definition: RunnerDefinition, size: number): RunnerSource {
    return { acquire: async (signal) => this.runnersOf(worker, definition, size).acquire(signal) };
  }

  /** The worker changed or was deleted: its instances are closed (lent ones when their job ends). */
  async drop(workerId: number): Promise<void> {
    const runners = this.pools.get(workerId);
    this.pools.delete(workerId);
    await runners?.drop();
  }

  /** Closes every instance; call after the jobs stopped. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((runners) => runners.drop()));
  }

  private runnersOf(worker: Worker, definition: RunnerDefinition, size: number): WorkerRunners {
    if (this.closed) throw new Error('the static runner pool is closed (the worker process is stopping)');
    const existing = this.pools.get(worker.id);
    if (existing?.fits(worker, definition, size) === true) return existing;
    void existing?.drop();
    const runners = new WorkerRunners(worker, definition, size, this.logger);
    this.pools.set(worker.id, runners);
    return runners;
  }
}

/** The instances of one worker version. */
class WorkerRunners {
  private readonly idle: Runner[] = [];
  /** instances that exist: idle, lent or loading */
  private count = 0;
  private readonly waiters: Array<() => void> = [];
  private dropped = false;
  private readonly settings: Uint8Array;

  constructor(
    private readonly worker: Worker,
    private readonly definition: RunnerDefinition,
    private readonly size: number,
    private readonly logger: Logger,
  ) {
    this.settings = worker.runnerSettings;
  }

  /** True when a job of `worker` may use these instances: same settings, runner and size. */
  fits(worker: Worker, definition: RunnerDefinition, size: number): boolean {
    return (
      definition === this.definition &&
      size === this.size &&
      Buffer.from(this.settings).equals(Buffer.from(worker.runnerSettings))
    );
  }

  async acquire(signal: AbortSignal): Promise<RunnerLease> {
    for (;;) {
      signal.throwIfAborted();
      const idle = this.idle.pop();
      if (idle !== undefined) return this.lend(idle);
      if (this.count < this.size) return this.lend(await this.createLoaded());
      // every instance is lent (jobs of an old version of the worker may still hold slots): wait for one
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const at = this.waiters.indexOf(wake);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(signal.reason as Error);
        };
        this.waiters.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  async drop(): Promise<void> {
    this.dropped = true;
    const idle = this.idle.splice(0);
    this.count -= idle.length;
    this.wakeAll();
    await Promise.all(idle.map((runner) => this.closeRunner(runner)));
  }

  private async createLoaded(): Promise<Runner> {
    this.count += 1;
    const runner = this.definition.create();
    try {
      await runner.load(this.settings);
      return runner;
    } catch (err) {
      await this.forget(runner);
      throw err;
    }
  }

  private lend(runner: Runner): RunnerLease {
    let returned = false;
    return {
      runner,
      release: async (reusable) => {
        if (returned) return;
        returned = true;
        if (reusable && !this.dropped) {
          this.idle.push(runner);
          this.wakeOne();
        } else {
          await this.forget(runner);
        }
      },
    };
  }

  /** Closes an instance and frees its slot. */
  private async forget(runner: Runner): Promise<void> {
    this.count -= 1;
    this.wakeOne();
    await this.closeRunner(runner);
  }

  private async closeRunner(runner: Runner): Promise<void> {
    try {
      await runner.close?.();
    } catch (err) {
      this.logger.warn({ err, workerId: this.worker.id }, 'closing a static runner failed');
    }
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }

  private wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
