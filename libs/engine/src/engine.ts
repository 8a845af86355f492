/**
 * The worker runtime of one process: a ChannelDispatcher per configured channel, the RdbPoller for due rows, and the
 * cancellation listener that aborts running jobs deleted through the API.
 *
 * State machine: 'created' → start() → 'running' → stop() → 'stopped'. stop() is idempotent: it stops polling and
 * claiming, lets running jobs finish for the grace period, then aborts them and returns them to the queue, and
 * closes the runners pooled for use_static workers.
 */
import type { Logger } from '../../core/src/index.js';
import type { JobLifecycle } from '../../jobs/src/index.js';
import type { WakeChannel } from '../../queue/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { ChannelDispatcher } from './channel-dispatcher.js';
import { listAllWorkers } from './list-all-workers.js';
import { RdbPoller } from './rdb-poller.js';
import { StaticRunnerPool } from './static-runner-pool.js';

export interface EngineOptions {
  readonly channels: ReadonlyArray<{ readonly name: string; readonly concurrency: number }>;
  readonly leaseMs: number;
  readonly fetchIntervalMs: number;
}

export interface EngineDeps {
  /** the RDB rows the poller brings on time, and the workers whose channels it serves */
  readonly storage: Pick<Storage, 'jobs' | 'workers'>;
  /** every claim, start, end, give-back and cancellation of a job goes through it */
  readonly lifecycle: JobLifecycle;
  readonly logger: Logger;
  /** hints that RDB rows are due (from this or other processes): the poller looks at once */
  readonly wake?: Pick<WakeChannel, 'onWake'>;
}

export type EngineState = 'created' | 'running' | 'stopping' | 'stopped';

export class Engine {
  private stateValue: EngineState = 'created';
  private readonly dispatchers: ChannelDispatcher[];
  private readonly poller: RdbPoller;
  private readonly staticRunners: StaticRunnerPool;
  private unsubscribeCancel: (() => Promise<void>) | undefined;
  private unsubscribeWake: (() => Promise<void>) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly deps: EngineDeps,
  ) {
    const { storage, lifecycle, logger } = deps;
    this.staticRunners = new StaticRunnerPool(logger);
    this.dispatchers = options.channels.map(
      (c) =>
        new ChannelDispatcher({
          channel: c.name,
          concurrency: c.concurrency,
          lifecycle,
          onRetryScheduled: () => this.wake(),
          staticRunners: this.staticRunners,
          leaseMs: options.leaseMs,
          logger,
        }),
    );
    this.poller = new RdbPoller({
      rows: storage.jobs,
      lifecycle,
      listWorkers: () => listAllWorkers(storage.workers),
      channels: new Set(options.channels.map((c) => c.name)),
      fetchIntervalMs: options.fetchIntervalMs,
      leaseMs: options.leaseMs,
      logger,
    });
  }

  get state(): EngineState {
    return this.stateValue;
  }

  async start(): Promise<void> {
    if (this.stateValue !== 'created') throw new Error(`cannot start an engine that is ${this.stateValue}`);
    this.unsubscribeWake = await this.deps.wake?.onWake(() => this.wake());
    this.unsubscribeCancel = await this.deps.lifecycle.onCancel((jobId) => {
      for (const d of this.dispatchers) d.cancel(jobId);
    });
    for (const d of this.dispatchers) d.start();
    this.poller.start();
    this.stateValue = 'running';
    this.deps.logger.info(
      { channels: this.options.channels.map((c) => `${c.name}:${c.concurrency}`) },
      'engine started',
    );
  }

  /** A due row was written: poll now. */
  wake(): void {
    if (this.stateValue === 'running') this.poller.wake();
  }

  /** A worker changed or was deleted: forget the cached copy and drop its static runners. */
  invalidateWorker(workerId: number): void {
    this.deps.lifecycle.invalidateWorker(workerId);
    void this.staticRunners.drop(workerId);
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.stateValue = 'stopping';
    await this.poller.stop();
    await Promise.all(this.dispatchers.map((d) => d.stop(graceMs)));
    await this.staticRunners.close();
    await this.unsubscribeCancel?.();
    await this.unsubscribeWake?.();
    this.stateValue = 'stopped';
  }
}
