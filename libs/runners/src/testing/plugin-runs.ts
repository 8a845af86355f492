/** Helpers of the plugin thread tests: one job on a fresh runner instance, and the rejection of a promise. */
import type { PluginThreadPool } from '../plugin-thread-pool.js';
import { PluginThreadRunner } from '../plugin-thread-runner.js';

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
export const ctx = (signal = new AbortController().signal) => ({ signal, jobId: 1, timeoutMs: 0 });

/** Loads a new runner instance with `settings`, runs one job and closes the runner. */
export async function runOnce(
  pool: PluginThreadPool,
  args: string,
  signal?: AbortSignal,
  settings = '',
): Promise<Uint8Array[]> {
  const runner = new PluginThreadRunner(pool);
  await runner.load(bytes(settings));
  try {
    return await runner.run(bytes(args), ctx(signal));
  } finally {
    await runner.close();
  }
}

/** What `p` rejects with; throws when it resolves. */
export async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}
