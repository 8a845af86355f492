import { describe, expect, it } from 'vitest';
import type { Worker } from '../../core/src/index.js';
import { NO_RETRY, QueueType, ResponseType, RunnerType, silentLogger } from '../../core/src/index.js';
import type { Runner, RunnerDefinition } from '../../runners/src/index.js';
import { StaticRunnerPool } from './static-runner-pool.js';

/** A runner kind that records what happens to its instances. */
function countingDefinition(options: { failLoad?: boolean } = {}) {
  const events: string[] = [];
  let next = 0;
  const definition: RunnerDefinition = {
    id: 1000,
    name: 'Counting',
    type: RunnerType.PLUGIN,
    settingsProto: '',
    argsProto: '',
    resultProto: undefined,
    create: (): Runner => {
      const id = ++next;
      return {
        load: async (settings) => {
          events.push(`load ${id} ${Buffer.from(settings).toString()}`);
          if (options.failLoad === true) throw new Error('bad settings');
        },
        run: async () => [],
        close: async () => {
          events.push(`close ${id}`);
        },
      };
    },
  };
  return { definition, events };
}

function workerWith(settings: string, id = 7): Worker {
  return {
    id,
    name: `w${id}`,
    runnerId: 1000,
    runnerSettings: Buffer.from(settings),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    storeFailure: false,
    nextWorkers: [],
    useStatic: true,
  };
}

const signal = (): AbortSignal => new AbortController().signal;

describe('StaticRunnerPool', () => {
  it('creates at most `size` instances, loads each once and lends them again and again', async () => {
    const { definition, events } = countingDefinition();
    const pool = new StaticRunnerPool(silentLogger);
    const source = pool.source(workerWith('a'), definition, 2);
    for (let round = 0; round < 10; round++) {
      const leases = await Promise.all([source.acquire(signal()), source.acquire(signal())]);
      expect(new Set(leases.map((l) => l.runner)).size).toBe(2);
      await Promise.all(leases.map((l) => l.release(true)));
    }
    expect(events).toEqual(['load 1 a', 'load 2 a']);
    await pool.close();
    expect(events.slice(2).sort()).toEqual(['close 1', 'close 2']);
  });

  it('closes and replaces an instance given back as unfit', async () => {
    const { definition, events } = countingDefinition();
    const pool = new StaticRunnerPool(silentLogger);
    const source = pool.source(workerWith('a'), definition, 1);
    await (await source.acquire(signal())).release(false);
    await (await source.acquire(signal())).release(true);
    expect(events).toEqual(['load 1 a', 'close 1', 'load 2 a']);
    await pool.close();
  });

  it('makes a job wait for a lent instance when all are lent, and stops waiting on abort', async () => {
    const { definition, events } = countingDefinition();
    const pool = new StaticRunnerPool(silentLogger);
    const source = pool.source(workerWith('a'), definition, 1);
    const first = await source.acquire(signal());
    const controller = new AbortController();
    const reason = new Error('timed out');
    const abandoned = source.acquire(controller.signal);
    controller.abort(reason);
    await expect(abandoned).rejects.toBe(reason);

    const waiting = source.acquire(signal());
    await first.release(true);
    expect((await waiting).runner).toBe(first.runner);
    expect(events).toEqual(['load 1 a']);
    await pool.close();
  });

  it('drops a worker: idle instances close at once, lent ones when their job ends, and new jobs load again', async () => {
    const { definition, events } = countingDefinition();
    const pool = new StaticRunnerPool(silentLogger);
    const worker = workerWith('a');
    const [idle, lent] = await Promise.all([0, 1].map(() => pool.source(worker, definition, 2).acquire(signal())));
    await idle!.release(true);
    await pool.drop(worker.id);
    expect(events).toEqual(['load 1 a', 'load 2 a', 'close 1']);
    await lent!.release(true);
    expect(events).toEqual(['load 1 a', 'load 2 a', 'close 1', 'close 2']);
    await (await pool.source(worker, definition, 2).acquire(signal())).release(true);
    expect(events.at(-1)).toBe('load 3 a');
    await pool.close();
  });

  it('starts over when a job brings other settings (the worker was updated elsewhere)', async () => {
    const { definition, events } = countingDefinition();
    const pool = new StaticRunnerPool(silentLogger);
    await (await pool.source(workerWith('a'), definition, 1).acquire(signal())).release(true);
    await (await pool.source(workerWith('b'), definition, 1).acquire(signal())).release(true);
    expect(events).toEqual(['load 1 a', 'close 1', 'load 2 b']);
    await pool.close();
  });

  it('frees the slot of an instance whose load failed', async () => {
    const { definition, events } = countingDefinition({ failLoad: true });
    const pool = new StaticRunnerPool(silentLogger);
    const source = pool.source(workerWith('a'), definition, 1);
    await expect(source.acquire(signal())).rejects.toThrow('bad settings');
    await expect(source.acquire(signal())).rejects.toThrow('bad settings');
    expect(events).toEqual(['load 1 a', 'close 1', 'load 2 a', 'close 2']);
    await pool.close();
  });
});
