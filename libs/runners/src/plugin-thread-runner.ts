/**
 * A PLUGIN runner instance: borrows a thread of its plugin's PluginThreadPool at load() and runs each job there.
 *
 * - The plugin's load(settings) runs in the thread before this instance's first job there (so once per job for
 *   ordinary workers, once per pool slot for use_static workers).
 * - A plugin that throws fails the job with its message (retryable unless the error says otherwise).
 * - An abort (timeout, cancellation, shutdown) rejects at once with the signal's reason; the thread is told to
 *   cancel, gets the pool's grace period, then is terminated: a plugin that hangs, even in a busy loop, is stopped.
 * - A crash (the thread exits) fails the job as retryable; the next job of this instance gets a new thread.
 */
import type { PluginThread } from './plugin-thread.js';
import type { PluginThreadPool } from './plugin-thread-pool.js';
import type { RunContext, Runner } from './runner.js';
import { RunnerError } from './runner.js';

export class PluginThreadRunner implements Runner {
  private thread: PluginThread | undefined;
  private settings: Uint8Array | undefined;

  constructor(private readonly pool: PluginThreadPool) {}

  async load(settings: Uint8Array): Promise<void> {
    this.settings = settings;
    this.thread ??= await this.pool.acquire();
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const settings = this.settings;
    if (settings === undefined) throw new RunnerError(`plugin ${this.pool.name} was run before load()`, 'other');
    ctx.signal.throwIfAborted();
    const thread = (this.thread ??= await this.pool.acquire());
    ctx.signal.throwIfAborted();

    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        // the thread is given up at once: cancel, grace period, terminate
        this.giveBack(thread, false);
        reject(ctx.signal.reason as Error);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([thread.run(this, settings, args), aborted]);
    } finally {
      if (onAbort !== undefined) ctx.signal.removeEventListener('abort', onAbort);
      // a crashed thread is dropped; the next run borrows another
      if (thread.state === 'dead') this.giveBack(thread, false);
    }
  }

  async close(): Promise<void> {
    if (this.thread !== undefined) this.giveBack(this.thread, true);
  }

  private giveBack(thread: PluginThread, reusable: boolean): void {
    if (this.thread === thread) this.thread = undefined;
    this.pool.release(thread, reusable);
  }
}
