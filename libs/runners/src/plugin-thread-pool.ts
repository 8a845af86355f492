/**
 * The threads of one plugin in this process: at most `threads` of them (PLUGIN_THREADS, by default the number of
 * cores), each running many jobs at once. A runner instance borrows a slot — a plugin instance on one thread — and
 * gives it back when it closes. A slot goes to the thread with the fewest slots lent; a new thread starts when every
 * thread has at least one lent and there are fewer than `threads`. Threads start on demand and are kept.
 *
 * A thread that crashed or was terminated (a job on it hung) leaves the pool; the next slots go to the others or to
 * a new thread. The trade-off of sharing a thread between jobs: a plugin that crashes its thread, or blocks its
 * event loop past a job's abort, takes the other jobs on that thread with it (they fail as retryable and are run
 * again by their retry policy). A hang that only awaits forever harms no other job.
 *
 * State machine: 'open' → close() → 'closed' (every thread is terminated; acquire() fails).
 */
import { availableParallelism } from 'node:os';
import { errorMessage } from './error-message.js';
import type { PluginThreadOptions } from './plugin-thread.js';
import { PluginThread } from './plugin-thread.js';
import { RunnerError } from './runner.js';

export interface PluginThreadPoolOptions extends PluginThreadOptions {
  /** the most threads of this plugin. @default os.availableParallelism() */
  readonly threads?: number;
}

/** A plugin instance on a thread, lent to one runner instance. */
export interface PluginSlot {
  readonly thread: PluginThread;
  readonly instance: number;
}

export class PluginThreadPool {
  /** every thread that has not exited */
  private readonly threads = new Set<PluginThread>();
  private readonly maxThreads: number;
  private closed = false;

  constructor(
    /** file URL of the plugin module */
    readonly moduleUrl: string,
    /** the plugin's name, for messages */
    readonly name: string,
    private readonly options: PluginThreadPoolOptions,
  ) {
    this.maxThreads = Math.max(1, options.threads ?? availableParallelism());
  }

  /** A slot on a started thread; rejects with a retryable RunnerError when no thread can start. */
  async acquire(): Promise<PluginSlot> {
    if (this.closed) throw this.closedError();
    const accepting = [...this.threads].filter((thread) => thread.accepting);
    let thread = accepting.reduce<PluginThread | undefined>(
      (best, candidate) => (best === undefined || candidate.lentCount < best.lentCount ? candidate : best),
      undefined,
    );
    if (thread === undefined || (thread.lentCount > 0 && accepting.length < this.maxThreads)) thread = this.spawn();
    const instance = thread.takeInstance();
    try {
      await thread.ready;
    } catch (err) {
      thread.returnInstance(instance);
      throw new RunnerError(`plugin ${this.name} could not start a thread: ${errorMessage(err)}`, 'retryable', [], {
        cause: err,
      });
    }
    if (this.closed) {
      thread.returnInstance(instance);
      throw this.closedError();
    }
    return { thread, instance };
  }

  /** Takes a slot back, for the next runner instance. */
  release(slot: PluginSlot): void {
    slot.thread.returnInstance(slot.instance);
  }

  /** Terminates every thread (their jobs were stopped first) and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((thread) => thread.stop()));
  }

  private spawn(): PluginThread {
    const thread = PluginThread.spawn(this.moduleUrl, this.options, this.name);
    this.threads.add(thread);
    void thread.exited.then(() => this.threads.delete(thread));
    return thread;
  }

  private closedError(): RunnerError {
    return new RunnerError(`plugin ${this.name} is shutting down`, 'retryable');
  }
}
