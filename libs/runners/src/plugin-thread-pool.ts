/**
 * The threads of one plugin in this process, so that jobs do not pay for a thread start each: a job's runner
 * borrows a thread (an idle one, or a new one) and gives it back after the job. A thread whose job was aborted is
 * retired (cancel, a grace period, terminate); a crashed one is dropped. Idle threads are kept without limit: their
 * number is the most jobs of this plugin that ran at once, which the channels' concurrency bounds.
 *
 * State machine: 'open' → close() → 'closed' (idle and borrowed threads are terminated; acquire() fails).
 */
import { errorMessage } from './error-message.js';
import type { PluginThreadOptions } from './plugin-thread.js';
import { PluginThread } from './plugin-thread.js';
import { RunnerError } from './runner.js';

export interface PluginThreadPoolOptions extends PluginThreadOptions {
  /** how long an aborted job's plugin gets to end (after cancel()) before its thread is terminated. @default 500 */
  readonly cancelGraceMs?: number;
}

export class PluginThreadPool {
  private readonly idle: PluginThread[] = [];
  private readonly borrowed = new Set<PluginThread>();
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(
    /** file URL of the plugin module */
    readonly moduleUrl: string,
    /** the plugin's name, for messages */
    readonly name: string,
    private readonly options: PluginThreadPoolOptions,
  ) {}

  /** An idle thread, or a new one; rejects with a retryable RunnerError when no thread can start. */
  async acquire(): Promise<PluginThread> {
    for (let thread = this.idle.pop(); thread !== undefined; thread = this.idle.pop()) {
      // an idle thread may have crashed since (a timer of the plugin threw)
      if (thread.state === 'idle') return this.lend(thread);
    }
    if (this.closed) throw this.closedError();
    let thread: PluginThread;
    try {
      thread = await PluginThread.start(this.moduleUrl, this.options, this.name);
    } catch (err) {
      throw new RunnerError(`plugin ${this.name} could not start a thread: ${errorMessage(err)}`, 'retryable', [], {
        cause: err,
      });
    }
    if (this.closed) {
      this.retire(thread);
      throw this.closedError();
    }
    return this.lend(thread);
  }

  /** Takes a thread back: kept for the next job when `reusable` and healthy, retired otherwise. */
  release(thread: PluginThread, reusable: boolean): void {
    if (!this.borrowed.delete(thread)) return;
    if (reusable && !this.closed && thread.state === 'idle') this.idle.push(thread);
    else this.retire(thread);
  }

  /** Terminates every thread (borrowed ones too: their jobs were stopped first) and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    for (const thread of [...this.idle.splice(0), ...this.borrowed]) this.retire(thread);
    this.borrowed.clear();
    await Promise.all(this.retiring);
  }

  private lend(thread: PluginThread): PluginThread {
    this.borrowed.add(thread);
    return thread;
  }

  private retire(thread: PluginThread): void {
    const exited = thread.retire(this.options.cancelGraceMs ?? 500);
    this.retiring.add(exited);
    void exited.then(() => this.retiring.delete(exited));
  }

  private closedError(): RunnerError {
    return new RunnerError(`plugin ${this.name} is shutting down`, 'retryable');
  }
}
