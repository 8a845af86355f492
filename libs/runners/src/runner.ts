/**
 * The Runner interface: what a worker's jobs are run with. A runner is created per job (or pooled per worker when
 * use_static is set), loaded once with the worker's settings, then runs jobs.
 */
import type { RunnerType } from '../../core/src/index.js';
import type { SettingsCheck } from './settings-check.js';

/** How a run ended when it did not succeed; the engine turns it into a ResultStatus. */
export type FailureKind =
  /** worth retrying: network errors, 5xx, timeouts, non-zero exit codes */
  | 'retryable'
  /** retrying will not help: 4xx, bad arguments, a missing executable */
  | 'fatal'
  /** the runner could not even start because of a local problem (decode errors, configuration) */
  | 'other';

/** Thrown by a runner to say how it failed; the message (and output, when given) go into the result. */
export class RunnerError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly output: readonly Uint8Array[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RunnerError';
  }
}

export interface RunContext {
  /** aborted on timeout, cancellation or shutdown; runners must stop promptly (kill children, abort requests) */
  readonly signal: AbortSignal;
  readonly jobId: number;
  /** this run's number among the job's attempts: 1 for the first, retried + 1 after retries. @default 1 */
  readonly attempt?: number;
  /** ms; 0 = none (the engine enforces it through `signal`, runners may pass it to their peers) */
  readonly timeoutMs: number;
}

export interface Runner {
  /** Parses the worker's settings once; throws RunnerError('other'|'fatal') when they are unusable. */
  load(settings: Uint8Array): Promise<void>;
  /** Runs one job; returns the output items or throws (a RunnerError says how to classify the failure). */
  run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]>;
  /** Frees what load() took (connections, pools). */
  close?(): Promise<void>;
}

/** A kind of runner: its published schemas and a factory. */
export interface RunnerDefinition {
  readonly id: number;
  readonly name: string;
  readonly type: RunnerType;
  readonly settingsProto: string;
  readonly argsProto: string;
  readonly resultProto: string | undefined;
  /** when true, next_workers chaining passes the whole serialized JobResult as args (Slack) */
  readonly usesJobResultAsArgs?: boolean;
  /**
   * Checks a worker's settings at WorkerService.Create and Update without loading anything: throws
   * InvalidArgumentError naming the field when they can never work. Optional (plugins may offer one).
   */
  readonly validateSettings?: SettingsCheck;
  create(): Runner;
}
