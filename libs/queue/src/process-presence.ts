import type { ProcessInfo, ProcessRegistry } from './ports.js';

export interface ProcessPresenceOptions {
  readonly registry: ProcessRegistry;
  /** what the process tells about itself; asked at each heartbeat (the node id may change) */
  readonly info: () => ProcessInfo;
  /** ms between heartbeats (HEARTBEAT_INTERVAL_MS) */
  readonly intervalMs: number;
  /** told when a heartbeat fails (the next one tries again) */
  readonly onError?: ((err: unknown) => void) | undefined;
}

/**
 * Keeps one process in the ProcessRegistry: a heartbeat at start, then one every interval (never two at once: the
 * next is timed from the end of the last), and its entry removed on stop. A heartbeat that fails is only reported:
 * the process drops out of the list once its last one is older than the timeout, which is what a status should show.
 */
export class ProcessPresence {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ProcessPresenceOptions) {}

  /** Records the first heartbeat (rejects if it fails) and starts the timer. */
  async start(): Promise<void> {
    await this.options.registry.heartbeat(this.options.info());
    this.schedule();
  }

  /** Stops the heartbeats and removes the process's entry (a failure to remove is reported, not thrown). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await this.options.registry
      .remove(this.options.info().instanceId)
      .catch((err: unknown) => this.options.onError?.(err));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.options.registry
        .heartbeat(this.options.info())
        .catch((err: unknown) => this.options.onError?.(err))
        .finally(() => {
          this.beating = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
