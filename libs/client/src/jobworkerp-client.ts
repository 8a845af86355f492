import type { CallOptions, ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type {
  CreateJobResponse,
  Job,
  JobRequest,
  JobResult,
  Priority,
  Runner,
  RunnerData,
  Schedule,
  ScheduleData,
  SystemStatus,
  Worker,
  WorkerData,
} from '../../proto/src/index.js';
import {
  JobStatus,
  MissedTickPolicy,
  OverlapPolicy,
  Priority as PriorityValue,
  QueueType,
  ResponseType,
  ResultStatus,
} from '../../proto/src/index.js';
import { decodePayload } from './decode-payload.js';
import { encodePayload } from './encode-payload.js';
import { GrpcConnection } from './grpc-connection.js';
import type { JsonValue } from './json-value.js';
import type { ResolvedWorker } from './lookups.js';
import { Lookups } from './lookups.js';
import { readClientTls } from './client-tls.js';
import { parseServerAddress } from './parse-address.js';
import { isServiceError, serviceError } from './service-error.js';
import { StatusError } from './status-error.js';
import { StreamSubmitter } from './stream-submitter.js';

/** How long to wait for the connection when neither connectTimeoutMs nor timeoutMs is given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** How long lookups (worker names, runner schemas) are reused when lookupTtlMs is not given. */
const DEFAULT_LOOKUP_TTL_MS = 10_000;

/** The most jobs of one EnqueueBatch call (the server's limit). */
export const MAX_BATCH_JOBS = 10_000;

export interface ClientOptions {
  /**
   * `https://host:port` (TLS), or `http://host:port`, `host:port` or `host` (plain-text HTTP/2); the port is 9000 when
   * left out. @default 'http://localhost:9000'
   */
  readonly address?: string;
  /**
   * https:// only: a PEM file with the CA certificate(s) the server's certificate must chain to, for a private CA.
   * @default the CAs the system trusts
   */
  readonly caFile?: string;
  /** https:// only: a PEM client certificate, for a server that requires one (mutual TLS); needs keyFile */
  readonly certFile?: string;
  /** https:// only: the PEM private key of certFile (without a passphrase) */
  readonly keyFile?: string;
  /** sent as metadata `jobworkerp-auth` on every call (for a server with AUTH_TOKEN set) */
  readonly authToken?: string;
  /** the deadline of each call in ms (of an enqueue over the shared stream: the wait for its answer); none by default */
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
  /**
   * jobs.enqueue sends the jobs of non-DIRECT workers over one jobworkerp.ext.JobBatchService/EnqueueStream shared by
   * concurrent calls, instead of a unary call each (a server without that service gets unary calls by itself).
   * @default true
   */
  readonly enqueueStream?: boolean;
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

/** A cron schedule to create (or the whole new content of one to update): the worker by id or name, args as JSON. */
export interface ScheduleSpec {
  readonly name: string;
  /** 5 fields (min hour day month weekday), 6 (seconds first) or 7 (seconds first, year last) */
  readonly cron: string;
  /** IANA name. @default 'UTC' */
  readonly timeZone?: string;
  /** by id (a number) or by name (a string: looked up again at each tick, so the worker may be re-created) */
  readonly worker: Ref;
  /** job args: a JSON value encoded with the runner's args schema, or bytes */
  readonly args?: Payload;
  readonly priority?: Priority;
  readonly uniqKey?: string;
  /** of each job, ms (0 = none) */
  readonly timeoutMs?: number;
  /** @default MISSED_TICK_SKIP */
  readonly missedTick?: MissedTickPolicy;
  /** @default OVERLAP_ALLOW */
  readonly overlap?: OverlapPolicy;
}

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

/** Sends a JobRequest: through the unary JobService.Enqueue, or over the shared EnqueueStream (StreamSubmitter). */
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
 * // over TLS, with a private CA: new JobworkerpClient({ address: 'https://jobs.example.com:9000', caFile: 'ca.pem' })
 * const { result } = await client.jobs.enqueue({ worker: 'echo', args: { args: ['hello'] } });
 * ```
 */
export class JobworkerpClient {
  /** the service clients with auth, deadlines and cancellation (for calls the typed methods do not cover) */
  readonly conn: GrpcConnection;
  /** cached runner and worker lookups (names to ids, schemas) */
  readonly lookups: Lookups;
  /** the unary JobService.Enqueue: DIRECT workers (their answer is the result), or every job without the stream */
  private readonly unarySubmitter: JobSubmitter;
  /** for the jobs of non-DIRECT workers */
  private readonly submitter: JobSubmitter & { close?(): void };

  constructor(options: ClientOptions = {}) {
    const address = options.address ?? 'http://localhost:9000';
    const server = parseServerAddress(address);
    this.conn = new GrpcConnection({
      target: server.target,
      tls: readClientTls(server.tls, options, address),
      authToken: options.authToken,
      callTimeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      signal: options.signal ?? new AbortController().signal,
    });
    this.lookups = new Lookups(this.conn, options.lookupTtlMs ?? DEFAULT_LOOKUP_TTL_MS);
    this.unarySubmitter = { submit: (req) => this.conn.unary(this.conn.job, 'enqueue', req) };
    this.submitter =
      options.enqueueStream === false
        ? this.unarySubmitter
        : new StreamSubmitter(this.conn, { timeoutMs: options.timeoutMs, unary: this.unarySubmitter });
  }

  /**
   * Closes the channel; the process can then exit. Enqueues still waiting for their outcome on the stream get it;
   * later calls fail.
   */
  close(): void {
    this.submitter.close?.();
    this.conn.close();
  }

  readonly runners = {
    find: async (id: number): Promise<Runner | undefined> =>
      (await this.conn.unary(this.conn.runner, 'find', { value: id })).data,
    /** by id or name (a name matches exactly, else ignoring case); NOT_FOUND when there is none */
    resolve: async (ref: Ref): Promise<{ id: number; data: RunnerData }> => this.lookups.resolveRunner(String(ref)),
    list: async (paging: Paging = {}): Promise<Runner[]> =>
      this.collect((md, o) => this.conn.runner.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    delete: async (id: number): Promise<boolean> =>
      this.changing(this.conn.unary(this.conn.runner, 'delete', { value: id })),
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
    delete: async (id: number): Promise<boolean> =>
      this.changing(this.conn.unary(this.conn.worker, 'delete', { value: id })),
    count: async (): Promise<number> => (await this.conn.unary(this.conn.worker, 'count', {})).total,
  };

  readonly jobs = {
    /**
     * Enqueues a job; a DIRECT worker's response carries the final result. Concurrent calls for non-DIRECT workers
     * share one stream (see ClientOptions.enqueueStream); each still gets its own outcome, and a job the server
     * refuses rejects with the gRPC error a unary Enqueue would give. When the stream breaks, the calls waiting on it
     * reject with UNAVAILABLE (the job may or may not be enqueued: retry, with a uniqKey to be safe); the next call
     * opens a new stream.
     */
    enqueue: async (req: EnqueueRequest): Promise<EnqueueResponse> => {
      const { request, direct } = await this.jobRequest(req);
      const res = await (direct ? this.unarySubmitter : this.submitter).submit(request);
      return { jobId: res.id?.value ?? 0, result: res.result };
    },
    /**
     * Enqueues many jobs with JobBatchService/EnqueueBatch calls of up to MAX_BATCH_JOBS jobs each, and answers one
     * settled outcome per job, in order: its id, or why it was not enqueued (a worker that does not exist, args the
     * schema does not fit, the gRPC error a unary Enqueue would give). Jobs of DIRECT workers are sent with unary
     * Enqueue calls, and their result is in the outcome. A batch call that fails as a whole fails each of its jobs
     * with its error.
     */
    enqueueBatch: async (reqs: readonly EnqueueRequest[]): Promise<Array<PromiseSettledResult<EnqueueResponse>>> => {
      const prepared = await Promise.allSettled(reqs.map((r) => this.jobRequest(r)));
      const outcomes = new Array<Promise<EnqueueResponse>>(reqs.length);
      const batched: Array<{ index: number; request: JobRequest }> = [];
      prepared.forEach((p, index) => {
        if (p.status === 'rejected') outcomes[index] = Promise.reject(p.reason as Error);
        else if (p.value.direct) outcomes[index] = this.jobs.enqueue(reqs[index]!);
        else batched.push({ index, request: p.value.request });
      });
      for (let from = 0; from < batched.length; from += MAX_BATCH_JOBS) {
        const chunk = batched.slice(from, from + MAX_BATCH_JOBS);
        const call = this.enqueueChunk(chunk.map((c) => c.request));
        for (const [i, { index }] of chunk.entries()) outcomes[index] = call.then((answers) => answers[i]!);
      }
      return Promise.allSettled(outcomes);
    },
    find: async (id: number): Promise<Job | undefined> =>
      (await this.conn.unary(this.conn.job, 'find', { value: id })).data,
    list: async (paging: Paging = {}): Promise<Job[]> =>
      this.collect((md, o) => this.conn.job.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    /** cancels a job: a pending one is dropped, a running one aborted, a periodic series stopped */
    delete: async (id: number): Promise<boolean> =>
      (await this.conn.unary(this.conn.job, 'delete', { value: id })).isSuccess,
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
        output: (d?.output?.items ?? []).map((item) =>
          decodePayload(success ? runner?.resultOutputProto : undefined, item),
        ),
      };
    },
  };

  /** jobworkerp.ext.ScheduleService: cron schedules (jobworkerp-ts only) */
  readonly schedules = {
    /** creates a schedule and returns its id */
    create: async (spec: ScheduleSpec): Promise<number> => {
      const { id } = await this.conn.unary(this.conn.schedule, 'create', await this.scheduleData(spec));
      if (id === undefined) throw new StatusError('UNAVAILABLE', 'the server created the schedule but returned no id');
      return id.value;
    },
    /** replaces a schedule's content (its tick bookkeeping stays) */
    update: async (id: number, spec: ScheduleSpec): Promise<boolean> =>
      (await this.conn.unary(this.conn.schedule, 'update', { id: { value: id }, data: await this.scheduleData(spec) }))
        .isSuccess,
    find: async (id: number): Promise<Schedule | undefined> =>
      (await this.conn.unary(this.conn.schedule, 'find', { value: id })).data,
    findByName: async (name: string): Promise<Schedule | undefined> =>
      (await this.conn.unary(this.conn.schedule, 'findByName', { name })).data,
    list: async (paging: Paging = {}): Promise<Schedule[]> =>
      this.collect((md, o) => this.conn.schedule.findList({ limit: paging.limit, offset: paging.offset }, md, o)),
    delete: async (id: number): Promise<boolean> =>
      (await this.conn.unary(this.conn.schedule, 'delete', { value: id })).isSuccess,
    count: async (): Promise<number> => (await this.conn.unary(this.conn.schedule, 'count', {})).total,
  };

  /** jobworkerp.ext.SystemService (jobworkerp-ts only) */
  readonly system = {
    /**
     * The status of the whole system: version and uptime of the answering front, the live processes, each channel's
     * queue, delayed and periodic jobs in the RDB, and the counts of dead letters and schedules.
     */
    status: async (): Promise<SystemStatus> => this.conn.unary(this.conn.system, 'getStatus', {}),
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

  /** The JobRequest of an enqueue (worker resolved, args encoded), and whether its worker is DIRECT. */
  private async jobRequest(req: EnqueueRequest): Promise<{ request: JobRequest; direct: boolean }> {
    const worker = await this.lookups.resolveWorker(String(req.worker));
    const args = await this.encodeFor(worker, req.args);
    const request: JobRequest = {
      workerId: worker.id,
      args,
      uniqKey: req.uniqKey,
      runAfterTime: req.runAfterTime,
      priority: req.priority,
      timeout: req.timeoutMs,
    };
    return { request, direct: worker.data.responseType === ResponseType.DIRECT };
  }

  /** One EnqueueBatch call: a promise per job (a server without the extension gets a unary call per job). */
  private async enqueueChunk(jobs: JobRequest[]): Promise<Array<Promise<EnqueueResponse>>> {
    const unary = (job: JobRequest): Promise<EnqueueResponse> =>
      this.unarySubmitter.submit(job).then((res) => ({ jobId: res.id?.value ?? 0, result: res.result }));
    let outcomes;
    try {
      ({ outcomes } = await this.conn.unary(this.conn.jobBatch, 'enqueueBatch', { jobs }));
    } catch (err) {
      if (isServiceError(err) && err.code === status.UNIMPLEMENTED) return jobs.map(unary);
      throw err;
    }
    return jobs.map(async (_, i) => {
      const o = outcomes[i];
      if (o?.id !== undefined) return { jobId: o.id.value, result: undefined };
      throw serviceError(
        o?.error?.code ?? status.UNKNOWN,
        o?.error?.message ?? 'the server answered no outcome for this job',
      );
    });
  }

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

  /** ScheduleData of a spec: args encoded for the worker's runner; the worker sent as given (id or name). */
  private async scheduleData(spec: ScheduleSpec): Promise<ScheduleData> {
    const byId = typeof spec.worker === 'number' || /^\d+$/.test(spec.worker);
    const args =
      spec.args === undefined
        ? Buffer.alloc(0)
        : await this.encodeFor(await this.lookups.resolveWorker(String(spec.worker)), spec.args);
    return {
      name: spec.name,
      cron: spec.cron,
      timeZone: spec.timeZone ?? '',
      workerId: byId ? { value: Number(spec.worker) } : undefined,
      workerName: byId ? undefined : String(spec.worker),
      args,
      priority: spec.priority ?? PriorityValue.PRIORITY_MEDIUM,
      uniqKey: spec.uniqKey,
      timeout: spec.timeoutMs ?? 0,
      missedTick: spec.missedTick ?? MissedTickPolicy.MISSED_TICK_SKIP,
      overlap: spec.overlap ?? OverlapPolicy.OVERLAP_ALLOW,
    };
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
      (spec.nextWorkers ?? []).map(async (ref) => ({
        value: (await this.lookups.resolveWorker(String(ref))).id.value,
      })),
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

  private async collect<T>(
    start: (metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<T>,
  ): Promise<T[]> {
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
