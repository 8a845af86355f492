/**
 * Whether the services a process depends on (Redis, the RDB) answer, kept up to date for its health reports: the
 * fronts' grpc.health.v1 statuses and the HTTP health endpoint.
 *
 * Each dependency is checked on its own loop, one check at a time: at start, then every `intervalMs`, and at once
 * when the dependency hints that it may have changed (a Redis connection lost or ready again), so an outage shows
 * within a check's time rather than an interval. A check that does not answer within `timeoutMs` counts as down.
 * Transitions are logged once each: a warning naming the dependency and the error when it goes down, an info line
 * when it is back.
 *
 * Lifecycle: 'created' → start() (first check of every dependency) → 'running' → stop() → 'stopped'. stop() is
 * idempotent; once stopped, the process reports NOT_SERVING whatever its dependencies say (it is shutting down).
 */
import type { Logger } from '../../libs/core/src/index.js';

/** A service the process needs, as the monitor sees it. */
export interface Dependency {
  /** a short name for logs, reports and which services need it: 'redis', 'rdb' */
  readonly name: string;
  /** where it is, without credentials (`127.0.0.1:6379`, `mysql 127.0.0.1:3306/jobworkerp`) */
  readonly target: string;
  /** resolves when the dependency answers; rejects with the reason when it does not */
  check(timeoutMs: number): Promise<void>;
  /**
   * Tells `listener` when the dependency may have changed (`reachable`: what the hint suggests); the monitor then
   * checks at once instead of at the next interval. Returns a function that stops the calls.
   */
  onChange?(listener: (reachable: boolean) => void): () => void;
  /** releases what the checks hold (a connection of their own); called by the monitor's stop() */
  close?(): Promise<void>;
}

export interface DependencyState {
  readonly name: string;
  readonly target: string;
  readonly up: boolean;
  /** when the dependency went up or down, epoch ms */
  readonly sinceMs: number;
  /** why the last check failed, while down */
  readonly error?: string;
}

export type HealthStatus = 'SERVING' | 'NOT_SERVING';

export interface HealthReport {
  /** SERVING while running and every dependency is up */
  readonly status: HealthStatus;
  /** the process is shutting down (or has not started) */
  readonly stopping: boolean;
  readonly dependencies: readonly DependencyState[];
}

export interface HealthMonitorOptions {
  /** time between two checks of a dependency, ms (HEALTH_CHECK_INTERVAL_MS) */
  readonly intervalMs: number;
  /** a check that takes longer counts as down, ms. @default 5000 */
  readonly timeoutMs?: number;
  readonly logger: Logger;
}

export type HealthMonitorState = 'created' | 'running' | 'stopped';

const DEFAULT_TIMEOUT_MS = 5000;

/** One dependency's loop: its state, and how to cut its wait short. */
interface Watched {
  readonly dependency: Dependency;
  state: DependencyState;
  /** a hint came while a check ran: check again right after it */
  hinted: boolean;
  /** ends the current wait between checks */
  wake: (() => void) | undefined;
  stopHints: (() => void) | undefined;
  loop: Promise<void> | undefined;
}

export class HealthMonitor {
  private readonly watched: readonly Watched[];
  private readonly listeners = new Set<(state: DependencyState) => void>();
  private readonly aborter = new AbortController();
  private readonly timeoutMs: number;
  private stateValue: HealthMonitorState = 'created';
  private stopping: Promise<void> | undefined;

  constructor(
    dependencies: readonly Dependency[],
    private readonly options: HealthMonitorOptions,
  ) {
    const names = new Set(dependencies.map((d) => d.name));
    if (names.size !== dependencies.length) throw new Error('health dependencies must have distinct names');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const now = Date.now();
    // the process has just opened its connections: up until a check says otherwise
    this.watched = dependencies.map((dependency) => ({
      dependency,
      state: { name: dependency.name, target: dependency.target, up: true, sinceMs: now },
      hinted: false,
      wake: undefined,
      stopHints: undefined,
      loop: undefined,
    }));
  }

  get state(): HealthMonitorState {
    return this.stateValue;
  }

  /** The names of the dependencies watched. */
  get dependencyNames(): readonly string[] {
    return this.watched.map((w) => w.dependency.name);
  }

  /** Checks every dependency once (their transitions logged), then keeps checking them until stop(). */
  async start(): Promise<void> {
    if (this.stateValue !== 'created') throw new Error(`cannot start a health monitor that is ${this.stateValue}`);
    this.stateValue = 'running';
    await Promise.all(this.watched.map((w) => this.checkOnce(w)));
    for (const w of this.watched) {
      w.stopHints = w.dependency.onChange?.((reachable) => this.hint(w, reachable));
      w.loop = this.loop(w);
    }
  }

  /** Whether the named dependency answered its last check; false for a name not watched. */
  isUp(name: string): boolean {
    return this.watched.find((w) => w.dependency.name === name)?.state.up ?? false;
  }

  report(): HealthReport {
    const dependencies = this.watched.map((w) => w.state);
    const stopping = this.stateValue !== 'running';
    const serving = !stopping && dependencies.every((d) => d.up);
    return { status: serving ? 'SERVING' : 'NOT_SERVING', stopping, dependencies };
  }

  /**
   * Calls `listener` with a dependency's new state each time it goes down or comes back (not when the monitor stops:
   * report() then says NOT_SERVING, and a gRPC server marks itself NOT_SERVING when it stops). Returns a function
   * that stops the calls.
   */
  onTransition(listener: (state: DependencyState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends the loops (a check in flight is waited for), then closes what the dependencies hold. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stateValue = 'stopped';
    this.aborter.abort();
    for (const w of this.watched) {
      w.stopHints?.();
      w.wake?.();
    }
    await Promise.all(this.watched.map((w) => w.loop ?? Promise.resolve()));
    await Promise.all(this.watched.map((w) => w.dependency.close?.().catch(() => undefined) ?? Promise.resolve()));
  }

  private hint(w: Watched, reachable: boolean): void {
    // a hint that agrees with what the monitor already knows changes nothing (a failed reconnection while down)
    if (reachable === w.state.up) return;
    w.hinted = true;
    w.wake?.();
  }

  private async loop(w: Watched): Promise<void> {
    const { signal } = this.aborter;
    while (!signal.aborted) {
      await this.waitNext(w, signal);
      if (signal.aborted) return;
      await this.checkOnce(w);
    }
  }

  /** Waits `intervalMs`, less when a hint comes (or came during the last check), or until the monitor stops. */
  private waitNext(w: Watched, signal: AbortSignal): Promise<void> {
    if (w.hinted || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.intervalMs);
      function done(): void {
        clearTimeout(timer);
        w.wake = undefined;
        resolve();
      }
      w.wake = done;
    });
  }

  private async checkOnce(w: Watched): Promise<void> {
    w.hinted = false;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([w.dependency.check(this.timeoutMs), deadline]);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    // a check that ended after stop() says nothing about a process that is going away
    if (this.stateValue !== 'running') return;
    this.record(w, error);
  }

  private record(w: Watched, error: string | undefined): void {
    const up = error === undefined;
    const { name, target } = w.dependency;
    if (up === w.state.up) {
      // still down: keep the latest reason for the reports, without logging it again
      if (!up) w.state = { ...w.state, error };
      return;
    }
    w.state = up ? { name, target, up, sinceMs: Date.now() } : { name, target, up, sinceMs: Date.now(), error };
    if (up) {
      this.options.logger.info({ dependency: name, target }, `${name} answers again: serving`);
    } else {
      this.options.logger.warn(
        { dependency: name, target, error },
        `${name} does not answer: reporting NOT_SERVING until it is back`,
      );
    }
    for (const listener of this.listeners) {
      try {
        listener(w.state);
      } catch (err) {
        this.options.logger.warn({ err }, 'a health listener failed');
      }
    }
  }
}
