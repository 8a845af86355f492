/**
 * One worker thread running one instance of a plugin (main side). The thread imports the plugin module, reports its
 * metadata, then runs jobs one at a time.
 *
 * State machine: 'starting' → (ready) 'idle' ⇄ 'busy' (run) → 'retiring' (retire: wait for the run, at most a grace
 * period, then terminate) → 'dead'. Any state → 'dead' when the thread exits, on its own (a crash: the pending run
 * fails with a retryable RunnerError) or terminated. A dead thread is never used again.
 */
import { Worker } from 'node:worker_threads';
import type { FromPluginThread, PluginMetadata, PluginThreadData, ToPluginThread } from './plugin-messages.js';
import { ownBytes } from './plugin-messages.js';
import { RunnerError } from './runner.js';

export type PluginThreadState = 'starting' | 'idle' | 'busy' | 'retiring' | 'dead';

export interface PluginThreadOptions {
  /** the most bytes a run may return in all its items (RESPONSE_MAX_BYTES) */
  readonly maxOutputBytes: number;
  /** how long the module may take to import and report itself. @default 10000 */
  readonly startTimeoutMs?: number;
}

interface PendingRun {
  readonly owner: object;
  resolve(items: Uint8Array[]): void;
  reject(error: Error): void;
}

export class PluginThread {
  private stateValue: PluginThreadState = 'starting';
  private pending: PendingRun | undefined;
  private crash: string | undefined;
  private metadataValue: PluginMetadata | undefined;
  /** the owner whose settings the plugin holds */
  private loadedFor: object | undefined;
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  /** resolves when the thread has exited */
  readonly exited: Promise<void>;

  private constructor(
    private readonly label: string,
    moduleUrl: string,
    options: PluginThreadOptions,
  ) {
    this.worker = spawnThread({ moduleUrl, maxOutputBytes: options.maxOutputBytes });
    let started: { resolve(): void; reject(error: Error): void } | undefined;
    this.ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
    const startTimer = setTimeout(() => {
      started?.reject(new Error(`it did not report itself within ${options.startTimeoutMs ?? 10_000} ms`));
      void this.worker.terminate();
    }, options.startTimeoutMs ?? 10_000);

    this.worker.on('message', (message: FromPluginThread) => {
      switch (message.type) {
        case 'ready':
          clearTimeout(startTimer);
          this.metadataValue = message.metadata;
          this.stateValue = 'idle';
          started?.resolve();
          return;
        case 'unusable':
          clearTimeout(startTimer);
          started?.reject(new Error(message.message));
          void this.worker.terminate();
          return;
        case 'done':
          this.settle(true)?.resolve(message.items);
          return;
        case 'failed': {
          const pending = this.settle(message.phase === 'run');
          const text = message.phase === 'load' ? `${this.name} rejected its settings: ${message.message}` : message.message;
          pending?.reject(new RunnerError(text, message.kind));
          return;
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
        const wasRetiring = this.stateValue === 'retiring';
        this.stateValue = 'dead';
        const reason = this.crash ?? `the thread exited with code ${code}`;
        started?.reject(new Error(reason));
        const message = wasRetiring ? `plugin ${this.name} was stopped` : `plugin ${this.name} crashed: ${reason}`;
        this.pending?.reject(new RunnerError(message, 'retryable'));
        this.pending = undefined;
        resolve();
      });
    });
    this.ready.catch(() => undefined);
  }

  /** Starts a thread for the module; rejects (naming the reason) when it cannot serve as a plugin. */
  static async start(moduleUrl: string, options: PluginThreadOptions, label = moduleUrl): Promise<PluginThread> {
    const thread = new PluginThread(label, moduleUrl, options);
    await thread.ready;
    return thread;
  }

  get state(): PluginThreadState {
    return this.stateValue;
  }

  get metadata(): PluginMetadata {
    if (this.metadataValue === undefined) throw new Error('the plugin thread has not started');
    return this.metadataValue;
  }

  /**
   * Runs one job for `owner` (a runner instance). The plugin loads `settings` first when this thread last ran
   * for another owner, or when that owner's load failed; so one owner's settings are loaded once per thread.
   * Rejects with a RunnerError when the plugin fails or the thread dies.
   */
  run(owner: object, settings: Uint8Array, args: Uint8Array): Promise<Uint8Array[]> {
    if (this.stateValue !== 'idle') {
      return Promise.reject(new RunnerError(`plugin ${this.name} thread is ${this.stateValue}, not idle`, 'retryable'));
    }
    this.stateValue = 'busy';
    const load = this.loadedFor !== owner;
    this.loadedFor = undefined;
    return new Promise<Uint8Array[]>((resolve, reject) => {
      this.pending = { owner, resolve, reject };
      const message: ToPluginThread = { type: 'run', settings: load ? ownBytes(settings) : undefined, args: ownBytes(args) };
      this.worker.postMessage(message);
    });
  }

  /**
   * Gives the thread up: the running job (if any) is told to cancel and gets `graceMs` to end, then the thread is
   * terminated. Returns when it has exited.
   */
  retire(graceMs: number): Promise<void> {
    if (this.stateValue === 'dead' || this.stateValue === 'retiring') return this.exited;
    const running = this.pending !== undefined;
    this.stateValue = 'retiring';
    if (!running) {
      void this.worker.terminate();
      return this.exited;
    }
    const cancel: ToPluginThread = { type: 'cancel' };
    this.worker.postMessage(cancel);
    const timer = setTimeout(() => void this.worker.terminate(), graceMs);
    void this.exited.then(() => clearTimeout(timer));
    return this.exited;
  }

  private get name(): string {
    return this.metadataValue?.name ?? this.label;
  }

  /**
   * Ends the pending run (the thread becomes idle again unless it is being retired, which then terminates it);
   * `loaded` says whether the plugin now holds the owner's settings.
   */
  private settle(loaded: boolean): PendingRun | undefined {
    const pending = this.pending;
    this.pending = undefined;
    if (loaded) this.loadedFor = pending?.owner;
    if (this.stateValue === 'busy') this.stateValue = 'idle';
    else if (this.stateValue === 'retiring') void this.worker.terminate();
    return pending;
  }
}

/**
 * Starts the thread entry next to this file: the compiled plugin-thread-main.js, or, when running from the
 * TypeScript sources (tests, tsx), the .ts entry through tsx's loader, which worker threads do not inherit.
 */
function spawnThread(data: PluginThreadData): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './plugin-thread-main.ts' : './plugin-thread-main.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}
