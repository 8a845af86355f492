import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `condition` every few ms until it holds; throws after `timeoutMs` (for deliveries that may be async). */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
