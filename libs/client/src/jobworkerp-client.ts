import type { CallOptions, ClientReadableStream, Metadata } from '@grpc/grpc-js';
import type {
  CreateJobResponse,
  Job,
  JobRequest,
  JobResult,
  Priority,
  Runner,
  RunnerData,
  Worker,
  WorkerData,
} from '../../proto/src/index.js';
import { JobStatus, QueueType, ResponseType, ResultStatus } from '../../proto/src/index.js';
import { decodePayload } from './decode-payload.js';
import { encodePayload } from './encode-payload.js';
import { GrpcConnection } from './grpc-connection.js';
import type { JsonValue } from './json-value.js';
import type { ResolvedWorker } from './lookups.js';
import { Lookups } from './lookups.js';
import { parseAddress } from './parse-address.js';
import { StatusError } from './status-error.js';

/** How long to wait for the connection when neither connectTimeoutMs nor timeoutMs is given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** How long lookups (worker names, runner schemas) are reused when lookupTtlMs is not given. */
const DEFAULT_LOOKUP_TTL_MS = 10_000;

export interface ClientOptions {
  /** `http://host:port`, `host:port` or `host` (port 9000); plain-text HTTP/2. @default 'http://localhost:9000' */
  readonly address?: string;
  /** sent as metadata `jobworkerp-auth` on every call (for a server with AUTH_TOKEN set) */
  readonly authToken?: string;
  /** the deadline of each call in ms; none by default */
  readonly timeoutMs?: number;
  /** how long to wait for the connection before failing with UNAVAILABLE; @default timeoutMs, else 5000 */
  readonly connectTimeoutMs?: number;
  /** aborting it cancels every call in flight */
  readonly signal?: AbortSignal;
  /**
   * how long a looked-up worker or runner (a name's id, a runner's schemas) is reused; changes this client makes drop
   * them at once. @default 10000
   */
  readonly lookupTtlMs?: number;
}

/** A worker or runner given by id (a number, or a string of digits) or by name. */
export type Ref = number | string;

/** A payload (worker settings, job args): a JSON value for the runner's schema, or protobuf bytes sent as they are. */
export type Payload = JsonValue | Uint8Array;

export interface EnqueueRequest {
  readonly worker: Ref;
  /** job args: a JSON value encoded with the runner's args schema (text for a runner without one), or bytes */
  readonly args?: Payload;
  /** rejected with ALREADY_EXISTS while another job with this key is unfinished */
  readonly uniqKey?: string;
  /** epoch ms to run at (not for DIRECT workers) */
  readonly runAfterTime?: number;
  readonly priority?: Priority;
  /** the job's own timeout in ms (0 = none) */
  readonly timeoutMs?: number;
}

export interface EnqueueResponse {
  readonly jobId: number;
  /** the final result, for a DIRECT worker */
  readonly result: JobResult | undefined;
}

/** A worker to create: WorkerData with the runner by id or name and the settings as a JSON value (or bytes). */
export type WorkerSpec = Partial<Omit<WorkerData, 'runnerId' | 'runnerSettings' | 'nextWorkers'>> & {
  readonly name: string;
  readonly runner: Ref;
  readonly settings?: Payload;
  readonly nextWorkers?: readonly Ref[];
};

/** A job result with its args and output items decoded through the runner's schemas. */
export interface DecodedResult {
  readonly result: JobResult;
  readonly args: JsonValue;
  /** the output items of a SUCCESS, decoded with the result schema (text without one); an error message otherwise */
  readonly output: JsonValue[];
}

/** Paging of the list calls. */
export interface Paging {
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * Sends a JobRequest. The unary Enqueue call today; the seam where a streaming submitter that batches concurrent
 * enqueues over one stream plugs in.
 */
export interface JobSubmitter {
  submit(request: JobRequest): Promise<CreateJobResponse>;
}

/**
 * A typed client of a jobworkerp server (jobworkerp-ts or jobworkerp-rs v0.7): runners, workers, jobs, results and
 * job status. Settings, args and outputs are converted between JSON and protobuf with the schemas the runners
 * publish. Close it with close().
 *
 * ```ts
 * const client = new JobworkerpClient({ address: 'http://127.0.0.1:9000' });
 * const { result } = await client.jobs.enqueue({ worker: 'echo', args: { args: ['hello'] } });
 * ```
 */
export class JobworkerpClient {
  /** the service clients with auth, deadlines and cancellation (for calls the typed methods do not cover) */
  readonly conn: GrpcConnection;
  /** cached runner and worker lookups (names to ids, schemas) */
  readonly lookups: Lookups;
  private readonly submitter: JobSubmitter;

  constructor(options: ClientOptions = {}, submitter?: (conn: GrpcConnection) => JobSubmitter) {
    this.conn = new GrpcConnection({
      target: parseAddress(options.address ?? 'http://localhost:9000'),
      authToken: options.authToken,
      callTimeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      signal: options.signal ?? new AbortController().signal,
    });
    this.lookups = new Lookups(this.conn, options.lookupTtlMs ?? DEFAULT_LOOKUP_TTL_MS);
    this.submitter = submitter?.(this.conn) ?? { submit: (req) => this.conn.unary(this.conn.job, 'enqueue', req) };
  }

  /** Closes the channel; the process can then exit. */
  close(): void {
    this.conn.close();
  }

  readonly runners = {
    find: async (id: number): Promise<Runner | undefined> =>
      (await this.conn.unary(this.conn.runner, 'find', { value: id })).data,
    /** by id or name (a name matches exactly, else ignoring case); NOT_FOUND when there is none */
    resolve: async (ref: Ref): Promise<{ id: number; data: RunnerData }> => this.lookups.resolveRunner(String(ref)),
    list: async (paging: Paging = {}): Promise<Runner[]> =>
      this.collect((md, o) => this.conn.runner.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    delete: async (id: number): Promise<boolean> => this.changing(this.conn.unary(this.conn.runner, 'delete', { value: id })),
    count: async (): Promise<number> => (await this.conn.unary(this.conn.runner, 'count', {})).total,
  };

  readonly workers = {
    /** creates a worker (settings encoded with the runner's settings schema) and returns its id */
    create: async (spec: WorkerSpec): Promise<number> => {
      const data = await this.workerData(spec);
      const { id } = await this.conn.unary(this.conn.worker, 'create', data);
      if (id === undefined) throw new StatusError('UNAVAILABLE', 'the server created the worker but returned no id');
      return id.value;
    },
    /** replaces a worker's data */
    update: async (id: number, data: WorkerData): Promise<boolean> =>
      this.changing(this.conn.unary(this.conn.worker, 'update', { id: { value: id }, data })),
    find: async (id: number): Promise<Worker | undefined> =>
      (await this.conn.unary(this.conn.worker, 'find', { value: id })).data,
    findByName: async (name: string): Promise<Worker | undefined> =>
      (await this.conn.unary(this.conn.worker, 'findByName', { name })).data,
    /** by id or name; NOT_FOUND when there is none */
    resolve: async (ref: Ref): Promise<ResolvedWorker> => this.lookups.resolveWorker(String(ref)),
    list: async (paging: Paging = {}): Promise<Worker[]> =>
      this.collect((md, o) => this.conn.worker.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    delete: async (id: number): Promise<boolean> => this.changing(this.conn.unary(this.conn.worker, 'delete', { value: id })),
    count: async (): Promise<number> => (await this.conn.unary(this.conn.worker, 'count', {})).total,
  };

  readonly jobs = {
    /** enqueues a job; a DIRECT worker's response carries the final result */
    enqueue: async (req: EnqueueRequest): Promise<EnqueueResponse> => {
      const worker = await this.lookups.resolveWorker(String(req.worker));
      const args = await this.encodeFor(worker, req.args);
      const res = await this.submitter.submit({
        workerId: worker.id,
        args,
        uniqKey: req.uniqKey,
        runAfterTime: req.runAfterTime,
        priority: req.priority,
        timeout: req.timeoutMs,
      });
      return { jobId: res.id?.value ?? 0, result: res.result };
    },
    find: async (id: number): Promise<Job | undefined> => (await this.conn.unary(this.conn.job, 'find', { value: id })).data,
    list: async (paging: Paging = {}): Promise<Job[]> =>
      this.collect((md, o) => this.conn.job.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    /** cancels a job: a pending one is dropped, a running one aborted, a periodic series stopped */
    delete: async (id: number): Promise<boolean> => (await this.conn.unary(this.conn.job, 'delete', { value: id })).isSuccess,
    count: async (): Promise<number> => (await this.conn.unary(this.conn.job, 'count', {})).total,
  };

  readonly results = {
    find: async (id: number): Promise<JobResult | undefined> =>
      (await this.conn.unary(this.conn.jobResult, 'find', { value: id })).data,
    /**
     * Waits for the final result of a job of a LISTEN_AFTER worker (also one that finished already). The worker's
     * runner is looked up before waiting, so decoding the result needs no further call (within lookupTtlMs).
     */
    listen: async (req: { jobId: number; worker: Ref; timeoutMs?: number }): Promise<JobResult> => {
      const worker = await this.lookups.resolveWorker(String(req.worker));
      await this.lookups.runnerOfWorker(worker.id.value);
      return this.conn.unary(this.conn.jobResult, 'listen', {
        jobId: { value: req.jobId },
        workerId: worker.id,
        timeout: req.timeoutMs,
      });
    },
    /** hands each result of a (non-DIRECT) worker to onResult as it is produced, until the stream ends or is aborted */
    listenStream: async (worker: Ref, onResult: (result: JobResult) => void | Promise<void>): Promise<void> => {
      const { id } = await this.lookups.resolveWorker(String(worker));
      await this.conn.stream((md, o) => this.conn.jobResult.listenStreamByWorker({ workerId: id }, md, o), onResult);
    },
    list: async (paging: Paging = {}): Promise<JobResult[]> =>
      this.collect((md, o) => this.conn.jobResult.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    listByJobId: async (jobId: number): Promise<JobResult[]> =>
      this.collect((md, o) => this.conn.jobResult.findListByJobId({ jobId: { value: jobId } }, md, o)),
    delete: async (id: number): Promise<boolean> =>
      (await this.conn.unary(this.conn.jobResult, 'delete', { value: id })).isSuccess,
    count: async (): Promise<number> => (await this.conn.unary(this.conn.jobResult, 'count', {})).total,
    /** args and output items decoded through the schemas of the worker's runner */
    decode: async (result: JobResult): Promise<DecodedResult> => {
      const d = result.data;
      const workerId = d?.workerId?.value;
      const runner = workerId === undefined ? undefined : await this.lookups.runnerOfWorker(workerId);
      const success = (d?.status ?? ResultStatus.SUCCESS) === ResultStatus.SUCCESS;
      return {
        result,
        args: decodePayload(runner?.jobArgsProto, d?.args ?? Buffer.alloc(0)),
        output: (d?.output?.items ?? []).map((item) => decodePayload(success ? runner?.resultOutputProto : undefined, item)),
      };
    },
  };

  readonly status = {
    /** PENDING, RUNNING or WAIT_RESULT; undefined for a job that finished or does not exist */
    find: async (jobId: number): Promise<JobStatus | undefined> =>
      (await this.conn.unary(this.conn.jobStatus, 'find', { value: jobId })).status,
    list: async (): Promise<Array<{ jobId: number; status: JobStatus }>> => {
      const all: Array<{ jobId: number; status: JobStatus }> = [];
      await this.conn.stream(
        (md, o) => this.conn.jobStatus.findAll({}, md, o),
        (r) => void all.push({ jobId: r.id?.value ?? 0, status: r.status ?? JobStatus.PENDING }),
      );
      return all;
    },
  };

  /** A change of a worker or runner: cached lookups are dropped once it is done. */
  private async changing(call: Promise<{ isSuccess: boolean }>): Promise<boolean> {
    try {
      return (await call).isSuccess;
    } finally {
      this.lookups.forget();
    }
  }

  /** Job args for a worker: bytes as they are, anything else encoded with its runner's args schema. */
  private async encodeFor(worker: ResolvedWorker, args: Payload | undefined): Promise<Buffer> {
    if (args === undefined) return Buffer.alloc(0);
    if (args instanceof Uint8Array) return Buffer.from(args);
    const runnerId = worker.data.runnerId?.value ?? 0;
    const runner = await this.lookups.runner(runnerId);
    if (runner?.data === undefined) throw new StatusError('NOT_FOUND', `runner ${runnerId} does not exist`);
    return encodeValue(runner.data.jobArgsProto, args, 'args');
  }

  private async workerData(spec: WorkerSpec): Promise<WorkerData> {
    const runner = await this.lookups.resolveRunner(String(spec.runner));
    const settings =
      spec.settings === undefined
        ? Buffer.alloc(0)
        : spec.settings instanceof Uint8Array
          ? Buffer.from(spec.settings)
          : encodeValue(runner.data.runnerSettingsProto, spec.settings, 'settings');
    const nextWorkers = await Promise.all(
      (spec.nextWorkers ?? []).map(async (ref) => ({ value: (await this.lookups.resolveWorker(String(ref))).id.value })),
    );
    return {
      name: spec.name,
      runnerId: { value: runner.id },
      runnerSettings: settings,
      retryPolicy: spec.retryPolicy,
      periodicInterval: spec.periodicInterval ?? 0,
      channel: spec.channel,
      queueType: spec.queueType ?? QueueType.NORMAL,
      responseType: spec.responseType ?? ResponseType.DIRECT,
      storeSuccess: spec.storeSuccess ?? false,
      storeFailure: spec.storeFailure ?? false,
      nextWorkers,
      useStatic: spec.useStatic ?? false,
    };
  }

  private async collect<T>(start: (metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<T>): Promise<T[]> {
    const all: T[] = [];
    await this.conn.stream(start, (item) => void all.push(item));
    return all;
  }
}

/** A JSON value as protobuf bytes of the schema's first message (a runner without a schema takes text as is). */
export function encodeValue(schemaText: string, value: JsonValue, label: string): Buffer {
  if (typeof value === 'string' && schemaText.trim() === '') return Buffer.from(value, 'utf8');
  return encodePayload(schemaText, JSON.stringify(value), label);
}
