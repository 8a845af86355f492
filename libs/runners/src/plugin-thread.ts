/**
 * One worker thread of a plugin (main side). The thread imports the plugin module, reports its metadata, then runs
 * many jobs at once, each on a plugin instance of the thread (see plugin-thread-main.ts). Instances are lent to
 * runner instances (takeInstance / returnInstance) and reused, most recently returned first.
 *
 * State machine: 'starting' → (ready) 'open' → 'draining' → 'dead'; any state → 'dead' when the thread exits.
 * - 'open': takes new jobs.
 * - 'draining': a job was aborted and did not end within the grace period. The thread takes no new jobs and is
 *   pinged: if it does not answer within the grace period either, its event loop is blocked (a job spins), so it
 *   is terminated at once, and the other jobs on it fail with a retryable RunnerError; if it answers, the stuck job
 *   only awaits forever, and the thread is terminated once its other jobs have ended.
 * - 'dead': the thread exited, on its own (a crash: every job on it fails with a retryable RunnerError naming the
 *   reason) or terminated. A dead thread is never used again.
 *
 * An aborted job's promise rejects at once with the signal's reason; the thread is told to cancel it (its signal
 * aborts, its instance's cancel() is called) and its instance is reused only after it has ended.
 */
import type { Worker } from 'node:worker_threads';
import type { FromPluginThread, PluginMetadata, ToPluginThread } from './plugin-messages.js';
import { batchedPoster, ownBytes } from './plugin-messages.js';
import { spawnPluginThread } from './plugin-thread-entry.js';
import { RunnerError } from './runner.js';

export type PluginThreadState = 'starting' | 'open' | 'draining' | 'dead';

export interface PluginThreadOptions {
  /** the most bytes a run may return in all its items (RESPONSE_MAX_BYTES) */
  readonly maxOutputBytes: number;
  /** how long the module may take to import and report itself. @default 10000 */
  readonly startTimeoutMs?: number;
  /** how long an aborted job gets to end, and then a pinged thread to answer, before it is terminated. @default 500 */
  readonly cancelGraceMs?: number;
}

interface PendingJob {
  readonly instance: number;
  resolve(items: Uint8Array[]): void;
  reject(error: Error): void;
  /** the caller was answered already (the job was aborted); the thread's reply is only awaited to free the instance */
  abandoned: boolean;
  /** removes the abort listener */
  forget(): void;
}

export class PluginThread {
  private stateValue: PluginThreadState = 'starting';
  private readonly jobs = new Map<number, PendingJob>();
  private nextJob = 1;
  /** instances lent to runner instances */
  private readonly lent = new Set<number>();
  /** instances a job runs on */
  private readonly busy = new Set<number>();
  /** instances neither lent nor busy, the most recently freed last */
  private readonly free: number[] = [];
  private instanceCount = 0;
  private readonly pings = new Map<number, () => void>();
  private nextPing = 1;
  /** why the thread ended, once known */
  private endReason: string | undefined;
  private crash: string | undefined;
  private metadataValue: PluginMetadata | undefined;
  private readonly worker: Worker;
  private readonly send: (message: ToPluginThread) => void;
  private readonly graceMs: number;
  /** resolves when the thread reported itself, rejects when it cannot serve */
  readonly ready: Promise<void>;
  /** resolves when the thread has exited */
  readonly exited: Promise<void>;

  private constructor(
    private readonly label: string,
    moduleUrl: string,
    options: PluginThreadOptions,
  ) {
    this.graceMs = options.cancelGraceMs ?? 500;
    this.worker = spawnPluginThread({ moduleUrl, maxOutputBytes: options.maxOutputBytes });
    this.send = batchedPoster<ToPluginThread>((batch) => this.worker.postMessage(batch));
    let started: { resolve(): void; reject(error: Error): void } | undefined;
    this.ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
    this.ready.catch(() => undefined);
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    const startTimer = setTimeout(() => {
      started?.reject(new Error(`it did not report itself within ${startTimeoutMs} ms`));
      void this.worker.terminate();
    }, startTimeoutMs);

    this.worker.on('message', (batch: FromPluginThread[]) => {
      for (const message of batch) {
        if (message.type === 'ready') {
          clearTimeout(startTimer);
          this.metadataValue = message.metadata;
          if (this.stateValue === 'starting') this.stateValue = 'open';
          started?.resolve();
        } else if (message.type === 'unusable') {
          clearTimeout(startTimer);
          started?.reject(new Error(message.message));
          void this.worker.terminate();
        } else {
          this.receive(message);
        }
      }
    });
    // an uncaught exception in the thread (also out of memory); the exit follows
    this.worker.on('error', (err: Error) => {
      this.crash ??= err.message;
    });
    this.exited = new Promise<void>((resolve) => {
      this.worker.once('exit', (code: number) => {
        clearTimeout(startTimer);
        this.stateValue = 'dead';
        const reason = this.crash ?? `the thread exited with code ${code}`;
        started?.reject(new Error(reason));
        const message = this.endReason ?? `plugin ${this.name} crashed: ${reason}`;
        for (const [job, pending] of this.jobs)
          this.settle(job, pending)?.reject(new RunnerError(message, 'retryable'));
        for (const answer of this.pings.values()) answer();
        resolve();
      });
    });
  }

  /** Starts a thread for the module; rejects (naming the reason) when it cannot serve as a plugin. */
  static async start(moduleUrl: string, options: PluginThreadOptions, label = moduleUrl): Promise<PluginThread> {
    const thread = PluginThread.spawn(moduleUrl, options, label);
    await thread.ready;
    return thread;
  }

  /** Starts a thread for the module at once; await `ready` before running jobs. */
  static spawn(moduleUrl: string, options: PluginThreadOptions, label = moduleUrl): PluginThread {
    return new PluginThread(label, moduleUrl, options);
  }

  get state(): PluginThreadState {
    return this.stateValue;
  }

  /** True while the thread takes new jobs (or will, once started). */
  get accepting(): boolean {
    return this.stateValue === 'starting' || this.stateValue === 'open';
  }

  /** How many instances are lent out. */
  get lentCount(): number {
    return this.lent.size;
  }

  get metadata(): PluginMetadata {
    if (this.metadataValue === undefined) throw new Error('the plugin thread has not started');
    return this.metadataValue;
  }

  /** Lends a plugin instance of this thread: the most recently freed one, or a new one. */
  takeInstance(): number {
    const instance = this.free.pop() ?? this.instanceCount++;
    this.lent.add(instance);
    return instance;
  }

  /** Takes a lent instance back; it is reused once no job runs on it. */
  returnInstance(instance: number): void {
    if (!this.lent.delete(instance)) return;
    if (!this.busy.has(instance)) this.free.push(instance);
  }

  /**
   * Runs one job on a lent instance for `owner` (a runner instance): the instance loads `settings` first unless it
   * holds that owner's settings already. Rejects with a RunnerError when the plugin fails or the thread dies, and
   * with the signal's reason as soon as `signal` aborts.
   */
  run(
    instance: number,
    owner: number,
    settings: Uint8Array,
    args: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array[]> {
    if (this.stateValue !== 'open') {
      return Promise.reject(new RunnerError(`plugin ${this.name} thread is ${this.stateValue}, not open`, 'retryable'));
    }
    if (!this.lent.has(instance) || this.busy.has(instance)) {
      return Promise.reject(
        new RunnerError(`plugin ${this.name} instance ${instance} is not free to run a job`, 'other'),
      );
    }
    const job = this.nextJob++;
    this.busy.add(instance);
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const onAbort = (): void => this.abandon(job, signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      this.jobs.set(job, {
        instance,
        resolve,
        reject,
        abandoned: false,
        forget: () => signal.removeEventListener('abort', onAbort),
      });
      this.send({ type: 'run', job, instance, owner, settings: ownBytes(settings), args: ownBytes(args) });
      if (signal.aborted) onAbort();
    });
  }

  /** Terminates the thread; jobs still on it fail as stopped. Returns when it has exited. */
  stop(): Promise<void> {
    if (this.stateValue !== 'dead') this.terminate(`plugin ${this.name} was stopped`);
    return this.exited;
  }

  private get name(): string {
    return this.metadataValue?.name ?? this.label;
  }

  private receive(message: Exclude<FromPluginThread, { type: 'ready' | 'unusable' }>): void {
    if (message.type === 'pong') {
      this.pings.get(message.id)?.();
      return;
    }
    const pending = this.jobs.get(message.job);
    if (pending === undefined) return;
    const caller = this.settle(message.job, pending);
    if (message.type === 'done') caller?.resolve(message.items);
    else {
      const text =
        message.phase === 'load' ? `${this.name} rejected its settings: ${message.message}` : message.message;
      caller?.reject(new RunnerError(text, message.kind));
    }
    this.endIfDrained();
  }

  /** Forgets an ended job and frees its instance; returns the caller to answer, unless it was answered already. */
  private settle(job: number, pending: PendingJob): PendingJob | undefined {
    this.jobs.delete(job);
    pending.forget();
    this.busy.delete(pending.instance);
    if (!this.lent.has(pending.instance)) this.free.push(pending.instance);
    return pending.abandoned ? undefined : pending;
  }

  /** The job's caller gives up on it: answered now, the thread told to cancel, stuck after the grace period. */
  private abandon(job: number, reason: Error): void {
    const pending = this.jobs.get(job);
    if (pending === undefined || pending.abandoned) return;
    pending.abandoned = true;
    pending.forget();
    pending.reject(reason);
    this.send({ type: 'cancel', job });
    const timer = setTimeout(() => {
      if (this.jobs.has(job)) void this.drainStuck();
    }, this.graceMs);
    void this.exited.then(() => clearTimeout(timer));
  }

  /** A cancelled job did not end: no new jobs here; terminated now if the thread is blocked, else once drained. */
  private async drainStuck(): Promise<void> {
    if (this.stateValue !== 'open') return;
    this.stateValue = 'draining';
    const id = this.nextPing++;
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.graceMs);
      this.pings.set(id, () => {
        clearTimeout(timer);
        resolve(true);
      });
      this.send({ type: 'ping', id });
    });
    this.pings.delete(id);
    if (this.stateValue !== 'draining') return;
    if (!answered) {
      this.terminate(
        `plugin ${this.name} was stopped: another job on its thread did not end after it was aborted and blocks the thread`,
      );
    } else {
      this.endIfDrained();
    }
  }

  /** A draining thread whose every job left is an abandoned one ends now. */
  private endIfDrained(): void {
    if (this.stateValue !== 'draining') return;
    for (const pending of this.jobs.values()) if (!pending.abandoned) return;
    this.terminate(`plugin ${this.name} was stopped`);
  }

  private terminate(reason: string): void {
    this.endReason ??= reason;
    void this.worker.terminate();
  }
}
