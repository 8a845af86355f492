import type { Runner, RunnerData, Worker, WorkerData, WorkerId } from '../../proto/src/index.js';
import type { GrpcConnection } from './grpc-connection.js';
import { StatusError } from './status-error.js';

/** A worker that exists: id and data are set. */
export interface ResolvedWorker {
  readonly id: WorkerId;
  readonly data: WorkerData;
}

/** A cached lookup and until when it may be used. */
interface Entry<V> {
  readonly value: Promise<V>;
  readonly until: number;
}

/**
 * Runner and worker lookups (names to ids, the schemas of a worker's runner), cached for `ttlMs` (a list of 100
 * results of one worker asks for that worker and its runner once). The CLI keeps them for its whole run; a
 * long-lived client bounds their age with the TTL, and forget() drops them at once. A failed lookup is not kept.
 * References that are all digits are ids, anything else is a name.
 */
export class Lookups {
  private readonly runners = new Map<number, Entry<Runner | undefined>>();
  private readonly workers = new Map<number, Entry<Worker | undefined>>();
  private readonly workersByName = new Map<string, Entry<Worker | undefined>>();
  private readonly runnerList = new Map<'all', Entry<Runner[]>>();

  constructor(
    private readonly conn: GrpcConnection,
    private readonly ttlMs = Number.POSITIVE_INFINITY,
  ) {}

  runner(id: number): Promise<Runner | undefined> {
    return this.cached(
      this.runners,
      id,
      async () => (await this.conn.unary(this.conn.runner, 'find', { value: id })).data,
    );
  }

  worker(id: number): Promise<Worker | undefined> {
    return this.cached(
      this.workers,
      id,
      async () => (await this.conn.unary(this.conn.worker, 'find', { value: id })).data,
    );
  }

  workerByName(name: string): Promise<Worker | undefined> {
    return this.cached(this.workersByName, name, async () => {
      return (await this.conn.unary(this.conn.worker, 'findByName', { name })).data;
    });
  }

  /** Drops every cached lookup (after this client changed or deleted a worker or runner). */
  forget(): void {
    this.runners.clear();
    this.workers.clear();
    this.workersByName.clear();
    this.runnerList.clear();
  }

  /** The worker named by an id or a name; NOT_FOUND when there is none. */
  async resolveWorker(ref: string): Promise<ResolvedWorker> {
    const worker = isId(ref) ? await this.worker(Number(ref)) : await this.workerByName(ref);
    if (worker?.id === undefined || worker.data === undefined) {
      throw new StatusError('NOT_FOUND', `worker ${isId(ref) ? ref : JSON.stringify(ref)} does not exist`);
    }
    // found by name: later lookups by id (decoding its results) need no further call
    if (!this.workers.has(worker.id.value)) {
      this.workers.set(worker.id.value, { value: Promise.resolve(worker), until: Date.now() + this.ttlMs });
    }
    return { id: worker.id, data: worker.data };
  }

  /** The runner named by an id or a name (exact, else ignoring case); NOT_FOUND when there is none. */
  async resolveRunner(ref: string): Promise<{ id: number; data: RunnerData }> {
    let runner: Runner | undefined;
    if (isId(ref)) {
      runner = await this.runner(Number(ref));
    } else {
      const all = await this.listRunners();
      runner =
        all.find((r) => r.data?.name === ref) ?? all.find((r) => r.data?.name.toLowerCase() === ref.toLowerCase());
    }
    if (runner?.id === undefined || runner.data === undefined) {
      throw new StatusError(
        'NOT_FOUND',
        `runner ${isId(ref) ? ref : JSON.stringify(ref)} does not exist; see the runner list`,
      );
    }
    return { id: runner.id.value, data: runner.data };
  }

  /** The schemas of the runner a worker uses, or undefined when the worker or its runner is gone. */
  async runnerOfWorker(workerId: number): Promise<RunnerData | undefined> {
    const runnerId = (await this.worker(workerId))?.data?.runnerId?.value;
    return runnerId === undefined ? undefined : (await this.runner(runnerId))?.data;
  }

  private listRunners(): Promise<Runner[]> {
    return this.cached(this.runnerList, 'all', async () => {
      const all: Runner[] = [];
      await this.conn.stream(
        (md, options) => this.conn.runner.findList({}, md, options),
        (r) => void all.push(r),
      );
      return all;
    });
  }

  private cached<K, V>(map: Map<K, Entry<V>>, key: K, load: () => Promise<V>): Promise<V> {
    const hit = map.get(key);
    if (hit !== undefined && hit.until > Date.now()) return hit.value;
    const entry: Entry<V> = { value: load(), until: Date.now() + this.ttlMs };
    map.set(key, entry);
    entry.value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
    return entry.value;
  }
}

function isId(ref: string): boolean {
  return /^\d+$/.test(ref);
}
