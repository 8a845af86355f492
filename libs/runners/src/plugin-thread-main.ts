/**
 * The entry of a plugin's worker thread: imports the plugin module named in workerData, checks that it exports a
 * {@link PluginRunner}, reports its metadata (`ready`), then serves `run` requests, many at once.
 *
 * Each job runs on a plugin instance that the main side names: instance 0 is the module imported at start, instance
 * n a fresh evaluation of the same module (imported with `?jobworkerp-instance=n`), so module-level state is per
 * instance and an instance runs one job at a time, as the plugin contract says. A CommonJS module is evaluated once
 * per thread whatever its URL; its instances are then one, which runs their jobs in turn.
 *
 * A plugin that throws is answered with `failed`; one that crashes the thread (process.exit, an uncaught exception,
 * running out of memory) ends this thread and the jobs on it, which the main side sees as its exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromPluginThread, PluginMetadata, PluginThreadData, ToPluginThread } from './plugin-messages.js';
import { batchedPoster, ownBytes } from './plugin-messages.js';
import type { PluginRunner } from './plugin-runner.js';
import type { FailureKind } from './runner.js';

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const KINDS: readonly FailureKind[] = ['retryable', 'fatal', 'other'];

if (parentPort === null) throw new Error('plugin-thread-main must run in a worker thread');
const port = parentPort;
const data = workerData as PluginThreadData;
const post = batchedPoster<FromPluginThread>((batch) => port.postMessage(batch));

interface Instance {
  readonly plugin: PluginRunner;
  /** the owner whose settings this instance holds */
  loadedFor: number | undefined;
  /** settles when the instance's last job has ended: the next one starts after it */
  tail: Promise<void>;
}

interface RunningJob {
  readonly controller: AbortController;
  /** set once the job's run started on this instance */
  instance: Instance | undefined;
}

const instances = new Map<number, Promise<Instance>>();
const jobs = new Map<number, RunningJob>();

try {
  const first: Instance = {
    plugin: pluginOf((await import(data.moduleUrl)) as Record<string, unknown>),
    loadedFor: undefined,
    tail: Promise.resolve(),
  };
  instances.set(0, Promise.resolve(first));
  port.on('message', (batch: ToPluginThread[]) => {
    for (const message of batch) receive(message, first);
  });
  post({ type: 'ready', metadata: metadataOf(first.plugin) });
} catch (err) {
  post({ type: 'unusable', message: messageOf(err) });
}

function receive(message: ToPluginThread, first: Instance): void {
  switch (message.type) {
    case 'run':
      void serve(message, first);
      return;
    case 'cancel': {
      const job = jobs.get(message.job);
      job?.controller.abort(new Error('the job was aborted'));
      const plugin = job?.instance?.plugin;
      if (plugin !== undefined) {
        Promise.resolve()
          .then(() => plugin.cancel?.())
          .catch(() => undefined);
      }
      return;
    }
    case 'ping':
      post({ type: 'pong', id: message.id });
      return;
  }
}

/** Instance n of the plugin, imported on first use. */
function instanceOf(n: number, first: Instance): Promise<Instance> {
  let instance = instances.get(n);
  if (instance === undefined) {
    const url = new URL(data.moduleUrl);
    url.searchParams.set('jobworkerp-instance', String(n));
    instance = import(url.href).then((module: Record<string, unknown>): Instance => {
      const plugin = pluginOf(module);
      return plugin === first.plugin ? first : { plugin, loadedFor: undefined, tail: Promise.resolve() };
    });
    instances.set(n, instance);
    // a module that failed to evaluate again is tried again by the next job
    instance.catch(() => instances.delete(n));
  }
  return instance;
}

async function serve(request: Extract<ToPluginThread, { type: 'run' }>, first: Instance): Promise<void> {
  const { job } = request;
  const running: RunningJob = { controller: new AbortController(), instance: undefined };
  jobs.set(job, running);
  try {
    let instance: Instance;
    try {
      instance = await instanceOf(request.instance, first);
    } catch (err) {
      post({ type: 'failed', job, phase: 'run', message: messageOf(err), kind: 'retryable' });
      return;
    }
    const turn = instance.tail.then(() => runOn(instance, request, running));
    instance.tail = turn.catch(() => undefined);
    await turn;
  } finally {
    jobs.delete(job);
  }
}

async function runOn(
  instance: Instance,
  request: Extract<ToPluginThread, { type: 'run' }>,
  running: RunningJob,
): Promise<void> {
  const { job, owner } = request;
  const { signal } = running.controller;
  if (signal.aborted) {
    post({ type: 'failed', job, phase: 'run', message: messageOf(signal.reason), kind: 'retryable' });
    return;
  }
  running.instance = instance;
  const { plugin } = instance;
  if (instance.loadedFor !== owner) {
    instance.loadedFor = undefined;
    try {
      await plugin.load(request.settings);
    } catch (err) {
      post({ type: 'failed', job, phase: 'load', message: messageOf(err), kind: kindOf(err) });
      return;
    }
    instance.loadedFor = owner;
  }
  let items: unknown;
  try {
    items = await plugin.run(request.args, signal);
  } catch (err) {
    post({ type: 'failed', job, phase: 'run', message: messageOf(err), kind: kindOf(err) });
    return;
  }
  const problem = outputProblem(items);
  if (problem === undefined) post({ type: 'done', job, items: (items as Uint8Array[]).map(ownBytes) });
  else post({ type: 'failed', job, phase: 'run', message: problem, kind: 'fatal' });
}

/** The module's default export (or the module itself) when it has the shape of a PluginRunner; throws otherwise. */
function pluginOf(module: Record<string, unknown>): PluginRunner {
  const candidate: unknown =
    typeof module['default'] === 'object' && module['default'] !== null ? module['default'] : module;
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
