/** The backlog scenario's figures, for both systems, and how its drain is awaited. */
import { performance } from 'node:perf_hooks';
import type { QueuedMemoryFigures } from './redis-memory.js';

export interface BacklogFigures {
  readonly jobs: number;
  /** Redis memory of the queued backlog, no worker running */
  readonly memory: QueuedMemoryFigures;
  /** worker start → every backlog job done */
  readonly drainSeconds: number;
  /** the worker process that drained the backlog */
  readonly workerPeakRssBytes: number | undefined;
}

const POLL_MS = 100;

/** Polls `done` until it says yes; resolves with the seconds it took, rejects after timeoutMs naming `what`. */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const started = performance.now();
  while (!(await done())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return (performance.now() - started) / 1000;
}
