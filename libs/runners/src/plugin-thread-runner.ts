/**
 * A PLUGIN runner instance: borrows a slot (a plugin instance on one of the plugin's threads) of its
 * PluginThreadPool at load() and runs each job there.
 *
 * - The plugin's load(settings) runs on the slot's instance before this runner's first job there (so once per job
 *   for ordinary workers, once per pool slot for use_static workers).
 * - A plugin that throws fails the job with its message (retryable unless the error says otherwise).
 * - An abort (timeout, cancellation, shutdown) rejects at once with the signal's reason; the job is told to cancel,
 *   and a job that does not end in the grace period has its thread retired (see PluginThread): a plugin that hangs,
 *   even in a busy loop, is stopped.
 * - A crash (the thread exits) fails the job as retryable; the next job of this instance gets a new slot.
 */
import type { PluginSlot, PluginThreadPool } from './plugin-thread-pool.js';
import type { RunContext, Runner } from './runner.js';
import { RunnerError } from './runner.js';

/** tells the runner instances apart in a thread (which settings an instance holds) */
let nextOwner = 1;

export class PluginThreadRunner implements Runner {
  private slot: PluginSlot | undefined;
  private settings: Uint8Array | undefined;
  private readonly owner = nextOwner++;

  constructor(private readonly pool: PluginThreadPool) {}

  async load(settings: Uint8Array): Promise<void> {
    this.settings = settings;
    this.slot ??= await this.pool.acquire();
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const settings = this.settings;
    if (settings === undefined) throw new RunnerError(`plugin ${this.pool.name} was run before load()`, 'other');
    ctx.signal.throwIfAborted();
    // a crashed or retired thread takes no more jobs: this runner moves to another
    if (this.slot !== undefined && this.slot.thread.state !== 'open') this.giveBack();
    const slot = (this.slot ??= await this.pool.acquire());
    ctx.signal.throwIfAborted();
    return slot.thread.run(slot.instance, this.owner, settings, args, ctx.signal);
  }

  async close(): Promise<void> {
    this.giveBack();
  }

  private giveBack(): void {
    if (this.slot !== undefined) this.pool.release(this.slot);
    this.slot = undefined;
  }
}
