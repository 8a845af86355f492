/**
 * Test-only helpers for the runner unit tests: a RunContext and a check that a promise rejects with a RunnerError.
 * Not exported from the package (src/index.ts) and left out of the build (tsconfig.build.json excludes testing/).
 */
import { expect } from 'vitest';
import type { RunContext } from '../runner.js';
import { RunnerError } from '../runner.js';

/** A RunContext for job 1: aborted through `signal` (never, by default), with no timeout unless given. */
export function context(signal: AbortSignal = new AbortController().signal, timeoutMs = 0): RunContext {
  return { signal, jobId: 1, timeoutMs };
}

/** Awaits `promise`, expects it to reject with a RunnerError and returns that error. */
export async function runnerError(promise: Promise<unknown>): Promise<RunnerError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RunnerError);
  return error as RunnerError;
}
