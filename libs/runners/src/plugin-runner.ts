/**
 * The contract of a plugin runner: what the default export of a plugin module (an ES module found in a
 * PLUGINS_RUNNER_DIR folder) must look like. docs/plugins.md explains how to write one.
 *
 * Each plugin runs in worker threads of the worker process. A thread holds many plugin instances (each a fresh
 * evaluation of the module) and runs many jobs at once, one per instance. `load()` is called with the worker's
 * settings before the first job a runner instance runs on an instance, so an instance may be loaded many times,
 * with different settings. docs/plugins.md says what a crash or a hang does to the other jobs of a thread.
 */
import type { FailureKind } from './runner.js';

export interface PluginRunner {
  /** The runner's name: unique among plugins, not a built-in runner's name; letters, digits, `_`, `-`, `.` */
  readonly name: string;
  /** Proto source text of the settings message (the first message declared is used); '' = raw bytes. */
  readonly runnerSettingsProto: string;
  /** Proto source text of the job arguments message; '' = raw bytes (clients send UTF-8 text). */
  readonly jobArgsProto: string;
  /** Proto source text of one result item; omitted or '' = raw bytes. */
  readonly resultOutputProto?: string;
  /** Takes the worker's settings (protobuf bytes of the settings message). Throwing fails the job. */
  load(settings: Uint8Array): void | Promise<void>;
  /**
   * Runs one job with its args (protobuf bytes of the args message) and returns the result items. `signal` aborts
   * when the job times out or is cancelled: stop promptly, the thread is terminated shortly after anyway.
   * Throwing fails the job (retryable unless the error carries a `kind`, see {@link PluginError}).
   */
  run(args: Uint8Array, signal: AbortSignal): Uint8Array[] | Promise<Uint8Array[]>;
  /** Called when the running job is aborted, before the thread is terminated: free what `run` holds outside it. */
  cancel?(): void | Promise<void>;
}

/**
 * What a plugin may throw to say how a job failed: any Error works; one with `kind` 'fatal' (retrying will not
 * help) or 'other' (a local problem) is classified so, anything else is 'retryable'.
 */
export interface PluginError extends Error {
  readonly kind?: FailureKind;
}
