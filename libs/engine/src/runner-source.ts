/**
 * Where a job's loaded runner comes from and where it goes after the job: a new instance per job (ordinary
 * workers), or an instance lent by the StaticRunnerPool (use_static workers).
 */
import type { Runner, RunnerDefinition } from '../../runners/src/index.js';

/** A loaded runner lent to one job. */
export interface RunnerLease {
  readonly runner: Runner;
  /**
   * Gives the runner back after the job. `reusable` is true when the run ended normally (a result, or a failure
   * the runner reported as a RunnerError); false after an abort or an unexpected error.
   */
  release(reusable: boolean): Promise<void>;
}

export interface RunnerSource {
  /** A runner loaded with the worker's settings; `signal` aborts a wait for one. Failures reject, never throw. */
  acquire(signal: AbortSignal): Promise<RunnerLease>;
}

/** A new runner per job: created, loaded with `settings`, closed after the job. */
export function freshRunnerSource(definition: RunnerDefinition, settings: Uint8Array): RunnerSource {
  return {
    acquire: async () => {
      const runner = definition.create();
      try {
        await runner.load(settings);
      } catch (err) {
        // the load failure is what the job reports; a failure to close the half-loaded runner adds nothing
        await runner.close?.().catch(() => undefined);
        throw err;
      }
      return { runner, release: async () => runner.close?.() };
    },
  };
}
