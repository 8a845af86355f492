/**
 * Where a plugin thread's code lives, and how a thread is started: the one place that knows the entry module's
 * path (a build that bundles the entry elsewhere changes only this file).
 */
import { Worker } from 'node:worker_threads';
import type { PluginThreadData } from './plugin-messages.js';

/**
 * Starts a thread on the entry next to this file: the compiled plugin-thread-main.js, or, when running from the
 * TypeScript sources (tests, tsx), the .ts entry through tsx's loader, which worker threads do not inherit.
 */
export function spawnPluginThread(data: PluginThreadData): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './plugin-thread-main.ts' : './plugin-thread-main.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}
