/**
 * PLUGIN runners end to end: a real all-in-one loads plugins/ (HelloPlugin, EchoPlugin) and the fixture plugins of
 * test/fixtures/plugins (some broken on purpose), registers their runner rows, and runs their jobs in worker
 * threads. A plugin that throws, hangs or crashes fails its job; the process keeps serving other jobs.
 * Timing checks are behaviour bounds with slack, not performance figures.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeToObject, encodeFromObject } from '../../libs/core/src/index.js';
import type { JobResult, Runner, WorkerData } from '../../libs/proto/src/index.js';
import { ResponseType, ResultStatus, RunnerType } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, collect, connect } from '../support/grpc-clients.js';
import type { ServerProcess } from '../support/server-process.js';
import { REPO_ROOT, startServer } from '../support/server-process.js';
import { constantRetry, workerData } from '../support/worker-data.js';

const text = (r: JobResult | undefined, i = 0): string => Buffer.from(r?.data?.output?.items[i] ?? []).toString();
const raw = (s: string): Buffer => Buffer.from(s);

describe('plugin runners in the all-in-one', () => {
  let server: ServerProcess;
  let c: Clients;
  const runners = new Map<string, Runner>();
  let seq = 0;

  const runnerId = (name: string): number => {
    const id = runners.get(name)?.id?.value;
    if (id === undefined) throw new Error(`no runner ${name}`);
    return id;
  };
  const createWorker = async (runner: string, overrides: Partial<WorkerData> = {}): Promise<number> => {
    seq += 1;
    const data = workerData({
      name: `plugin-${seq}-${runner}`,
      runnerId: { value: runnerId(runner) },
      runnerSettings: Buffer.alloc(0),
      responseType: ResponseType.DIRECT,
      ...overrides,
    });
    return (await call(c.worker, 'create', data)).id!.value;
  };
  const enqueue = (workerId: number, args: Uint8Array, extra: Record<string, unknown> = {}) =>
    call(c.job, 'enqueue', { workerId: { value: workerId }, args: Buffer.from(args), ...extra });

  /** the server still runs other jobs: an echo job answers */
  let echoWorker = 0;
  const expectStillServing = async (): Promise<void> => {
    const res = await enqueue(echoWorker, raw('still serving'));
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(text(res.result)).toBe('still serving');
  };

  beforeAll(async () => {
    server = await startServer({
      env: {
        PLUGINS_RUNNER_DIR: `${join(REPO_ROOT, 'plugins')},${join(REPO_ROOT, 'test/fixtures/plugins')}`,
        WORKER_DEFAULT_CONCURRENCY: '4',
        JOB_QUEUE_FETCH_INTERVAL: '300',
        // small enough that the out-of-memory plugin reaches the heap limit quickly
        NODE_OPTIONS: '--max-old-space-size=192',
      },
    });
    c = connect(server.address);
    for (const runner of await collect(c.runner.findList({}))) runners.set(runner.data?.name ?? '', runner);
    echoWorker = await createWorker('EchoPlugin');
  });
  afterEach(() => {
    expect(server.child.exitCode).toBeNull();
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  it('registers a PLUGIN runner row per usable plugin, with its schemas, and logs the modules it skipped', () => {
    const plugins = [...runners.values()].filter((r) => r.data?.runnerType === RunnerType.PLUGIN);
    expect(plugins.map((r) => r.data?.name).sort()).toEqual([
      'CountingPlugin',
      'CrashingPlugin',
      'EchoPlugin',
      'HangingPlugin',
      'HelloPlugin',
      'ThrowingPlugin',
      'WrongOutputPlugin',
    ]);
    expect(runners.get('HelloPlugin')?.data).toMatchObject({
      runnerSettingsProto: expect.stringMatching(/message HelloSettings/),
      jobArgsProto: expect.stringMatching(/message HelloArgs/),
      resultOutputProto: expect.stringMatching(/message HelloResult/),
    });
    expect(runners.get('EchoPlugin')?.data).toMatchObject({ runnerSettingsProto: '', jobArgsProto: '' });
    // the built-in COMMAND row was not taken over by the fixture plugin named COMMAND
    expect(runners.get('COMMAND')?.data?.runnerType).toBe(RunnerType.COMMAND);
    const log = server.output();
    expect(log).toContain('broken at import');
    expect(log).toContain('does not export a plugin runner');
    expect(log).toContain('skipped a plugin whose name is already taken');
  });

  it('runs HelloPlugin with protobuf settings, args and result, and fails a job without a name as fatal', async () => {
    const hello = runners.get('HelloPlugin')!.data!;
    const w = await createWorker('HelloPlugin', {
      runnerSettings: Buffer.from(encodeFromObject(hello.runnerSettingsProto, { greeting: 'Hi' })),
    });
    const res = await enqueue(w, encodeFromObject(hello.jobArgsProto, { name: 'Ada' }));
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(decodeToObject(hello.resultOutputProto!, res.result!.data!.output!.items[0]!)).toEqual({
      message: 'Hi, Ada!',
    });

    const nameless = await enqueue(w, encodeFromObject(hello.jobArgsProto, {}));
    expect(nameless.result?.data?.status).toBe(ResultStatus.FATAL_ERROR);
    expect(text(nameless.result)).toBe('HelloArgs.name is empty: say who to greet');
  });

  it('echoes the args of many concurrent jobs', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => enqueue(echoWorker, raw(`job ${i}`))));
    expect(results.map((r) => text(r.result))).toEqual(Array.from({ length: 200 }, (_, i) => `job ${i}`));
  });

  it('retries a plugin that throws, ends with MAX_RETRY and the plugin message, and keeps serving', async () => {
    const w = await createWorker('ThrowingPlugin', {
      retryPolicy: constantRetry(20, 2),
    });
    const res = await enqueue(w, raw('boom'));
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(res.result?.data?.retried).toBe(2);
    expect(text(res.result)).toBe('plugin exploded on "boom"');
    const fatal = await enqueue(w, raw('fatal'));
    expect(fatal.result?.data?.status).toBe(ResultStatus.FATAL_ERROR);
    await expectStillServing();
  });

  it('stops a hanging plugin at the job timeout, whether it awaits forever or spins, and keeps serving', async () => {
    const w = await createWorker('HangingPlugin');
    for (const how of ['wait', 'busy']) {
      const started = Date.now();
      const res = await enqueue(w, raw(how), { timeout: 300 });
      expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
      expect(text(res.result)).toBe('job timed out after 300 ms');
      expect(Date.now() - started).toBeLessThan(1500);
      await expectStillServing();
    }
  });

  it('fails the job of a plugin that crashes its thread (exit, async throw, out of memory) and keeps serving', async () => {
    const w = await createWorker('CrashingPlugin');
    const expected: Record<string, RegExp> = {
      exit: /^plugin CrashingPlugin crashed: the thread exited with code 1$/,
      'async-throw': /^plugin CrashingPlugin crashed: thrown from a timer$/,
      oom: /^plugin CrashingPlugin crashed: .*memory/,
    };
    for (const [how, message] of Object.entries(expected)) {
      const res = await enqueue(w, raw(how), { timeout: 20_000 });
      expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
      expect(text(res.result)).toMatch(message);
      await expectStillServing();
    }
    // the plugin itself works again on a new thread
    const res = await enqueue(w, raw('fine'));
    expect(text(res.result)).toBe('fine');
  });

  it('fails a job whose plugin returns something other than bytes', async () => {
    const res = await enqueue(await createWorker('WrongOutputPlugin'), raw('x'));
    expect(res.result?.data?.status).toBe(ResultStatus.FATAL_ERROR);
    expect(text(res.result)).toMatch(/other than an array of Uint8Array/);
  });
});
