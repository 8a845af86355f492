/**
 * The entry of a plugin's worker thread: imports the plugin module named in workerData, checks that it exports a
 * {@link PluginRunner}, reports its metadata (`ready`), then serves `run` requests one at a time. A plugin that
 * throws is answered with `failed`; one that crashes the thread (process.exit, an uncaught exception, running out
 * of memory) ends only this thread, which the main side sees as its exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromPluginThread, PluginMetadata, PluginThreadData, ToPluginThread } from './plugin-messages.js';
import { ownBytes } from './plugin-messages.js';
import type { PluginRunner } from './plugin-runner.js';
import type { FailureKind } from './runner.js';

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const KINDS: readonly FailureKind[] = ['retryable', 'fatal', 'other'];

if (parentPort === null) throw new Error('plugin-thread-main must run in a worker thread');
const port = parentPort;
const data = workerData as PluginThreadData;
const post = (message: FromPluginThread): void => port.postMessage(message);

/** the controller of the running job's signal */
let running: AbortController | undefined;

try {
  const plugin = pluginOf((await import(data.moduleUrl)) as Record<string, unknown>);
  port.on('message', (message: ToPluginThread) => {
    if (message.type === 'cancel') {
      running?.abort(new Error('the job was aborted'));
      Promise.resolve()
        .then(() => plugin.cancel?.())
        .catch(() => undefined);
    } else {
      void serve(plugin, message.settings, message.args);
    }
  });
  post({ type: 'ready', metadata: metadataOf(plugin) });
} catch (err) {
  post({ type: 'unusable', message: messageOf(err) });
}

async function serve(plugin: PluginRunner, settings: Uint8Array | undefined, args: Uint8Array): Promise<void> {
  const controller = new AbortController();
  running = controller;
  try {
    if (settings !== undefined) {
      try {
        await plugin.load(settings);
      } catch (err) {
        post({ type: 'failed', phase: 'load', message: messageOf(err), kind: kindOf(err) });
        return;
      }
    }
    let items: unknown;
    try {
      items = await plugin.run(args, controller.signal);
    } catch (err) {
      post({ type: 'failed', phase: 'run', message: messageOf(err), kind: kindOf(err) });
      return;
    }
    const problem = outputProblem(items);
    if (problem === undefined) post({ type: 'done', items: (items as Uint8Array[]).map(ownBytes) });
    else post({ type: 'failed', phase: 'run', message: problem, kind: 'fatal' });
  } finally {
    running = undefined;
  }
}

/** The module's default export (or the module itself) when it has the shape of a PluginRunner; throws otherwise. */
function pluginOf(module: Record<string, unknown>): PluginRunner {
  const candidate: unknown = typeof module['default'] === 'object' && module['default'] !== null ? module['default'] : module;
  const value = candidate as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof value['name'] !== 'string' || !NAME_PATTERN.test(value['name'])) {
    problems.push('name must be 1-128 letters, digits, "_", "-" or "."');
  }
  for (const key of ['runnerSettingsProto', 'jobArgsProto']) {
    if (typeof value[key] !== 'string') problems.push(`${key} must be a string ('' for raw bytes)`);
  }
  if (value['resultOutputProto'] !== undefined && typeof value['resultOutputProto'] !== 'string') {
    problems.push('resultOutputProto must be a string when set');
  }
  for (const key of ['load', 'run']) {
    if (typeof value[key] !== 'function') problems.push(`${key} must be a function`);
  }
  if (value['cancel'] !== undefined && typeof value['cancel'] !== 'function') {
    problems.push('cancel must be a function when set');
  }
  if (problems.length > 0) {
    throw new Error(`the module does not export a plugin runner: ${problems.join('; ')}`);
  }
  return candidate as PluginRunner;
}

function metadataOf(plugin: PluginRunner): PluginMetadata {
  return {
    name: plugin.name,
    runnerSettingsProto: plugin.runnerSettingsProto,
    jobArgsProto: plugin.jobArgsProto,
    resultOutputProto: plugin.resultOutputProto === '' ? undefined : plugin.resultOutputProto,
  };
}

/** Why a run's return value cannot be the job's output, or undefined when it can. */
function outputProblem(items: unknown): string | undefined {
  if (!Array.isArray(items) || !items.every((item) => item instanceof Uint8Array)) {
    return 'the plugin returned something other than an array of Uint8Array from run()';
  }
  const size = items.reduce((sum: number, item: Uint8Array) => sum + item.byteLength, 0);
  if (size > data.maxOutputBytes) {
    return `the plugin returned ${size} bytes, more than the ${data.maxOutputBytes} allowed (RESPONSE_MAX_BYTES)`;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function kindOf(err: unknown): FailureKind {
  const kind: unknown = err instanceof Error ? (err as Error & { kind?: unknown }).kind : undefined;
  return KINDS.find((k) => k === kind) ?? 'retryable';
}
