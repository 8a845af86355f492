/**
 * The few jobworkerp-ts gRPC calls the benchmark makes, as promises: find the echo plugin, create a worker for it
 * (or for the COMMAND runner), enqueue one job or a batch, and stream a worker's results.
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import type {
  CreateJobResponse,
  CreateWorkerResponse,
  EnqueueBatchResponse,
  JobResult,
  ResponseType,
  Runner,
} from '../libs/proto/src/index.js';
import {
  CommandRunnerSettings,
  JobBatchServiceClient,
  JobResultServiceClient,
  JobServiceClient,
  QueueType,
  RetryType,
  RunnerServiceClient,
  WorkerServiceClient,
} from '../libs/proto/src/index.js';

/** The runner the benchmark's jobs use: plugins/echo, which returns its args. */
export const ECHO_PLUGIN = 'EchoPlugin';
/** The id of the built-in COMMAND runner. */
const COMMAND_RUNNER_ID = 1;

/** What a benchmark worker runs and keeps. */
export interface BenchWorker {
  readonly responseType: ResponseType;
  /** store each success in the database. @default false */
  readonly storeSuccess?: boolean;
  /** run this executable with the COMMAND runner instead of the echo plugin */
  readonly command?: string;
}

export class JobworkerpClient {
  private readonly runners: RunnerServiceClient;
  private readonly workers: WorkerServiceClient;
  private readonly jobs: JobServiceClient;
  private readonly results: JobResultServiceClient;
  private readonly batches: JobBatchServiceClient;

  constructor(address: string) {
    const creds = credentials.createInsecure();
    this.runners = new RunnerServiceClient(address, creds);
    this.workers = new WorkerServiceClient(address, creds);
    this.jobs = new JobServiceClient(address, creds);
    this.results = new JobResultServiceClient(address, creds);
    this.batches = new JobBatchServiceClient(address, creds);
  }

  /**
   * Creates a worker on the echo plugin that stores no result (so no job writes to the database) and answers
   * Enqueue per `responseType`; returns its id.
   */
  async createEchoWorker(name: string, responseType: ResponseType): Promise<number> {
    return this.createWorker(name, { responseType });
  }

  /** Creates a worker as `spec` says (by default on the echo plugin, storing nothing); returns its id. */
  async createWorker(name: string, spec: BenchWorker): Promise<number> {
    const command = spec.command;
    const runnerId = command === undefined ? await this.echoRunnerId() : COMMAND_RUNNER_ID;
    const runnerSettings =
      command === undefined ? Buffer.alloc(0) : Buffer.from(CommandRunnerSettings.encode({ name: command }).finish());
    const created = await unary<CreateWorkerResponse>((cb) =>
      this.workers.create(
        {
          name,
          runnerId: { value: runnerId },
          runnerSettings,
          retryPolicy: { type: RetryType.NONE, interval: 0, maxInterval: 0, maxRetry: 0, basis: 2 },
          periodicInterval: 0,
          channel: undefined,
          queueType: QueueType.NORMAL,
          responseType: spec.responseType,
          storeSuccess: spec.storeSuccess ?? false,
          storeFailure: false,
          nextWorkers: [],
          useStatic: false,
        },
        cb,
      ),
    );
    if (created.id === undefined) throw new Error(`WorkerService.Create returned no id for ${name}`);
    return created.id.value;
  }

  /** Enqueue; for a DIRECT worker the response carries the result. */
  enqueue(workerId: number, args: Buffer, deadlineMs: number): Promise<CreateJobResponse> {
    const options = { deadline: Date.now() + deadlineMs };
    return unary((cb) => this.jobs.enqueue({ workerId: { value: workerId }, args }, new Metadata(), options, cb));
  }

  /** JobBatchService.EnqueueBatch; resolves with the jobs' ids in order, rejects when any job was refused. */
  async enqueueBatch(workerId: number, args: readonly Buffer[], deadlineMs: number): Promise<string[]> {
    const options = { deadline: Date.now() + deadlineMs };
    const jobs = args.map((a) => ({ workerId: { value: workerId }, args: a }));
    const res = await unary<EnqueueBatchResponse>((cb) =>
      this.batches.enqueueBatch({ jobs }, new Metadata(), options, cb),
    );
    return res.outcomes.map((outcome, i) => {
      if (outcome.id === undefined)
        throw new Error(`job ${i} of a batch was refused: ${outcome.error?.message ?? 'no reason'}`);
      return String(outcome.id.value);
    });
  }

  /**
   * Streams every result of the worker (ListenStreamByWorker) to `onResult` with the job id; returns a function
   * that ends the stream. A stream error other than our own cancel is passed to `onError`.
   */
  listenResults(workerId: number, onResult: (jobId: string) => void, onError: (err: Error) => void): () => void {
    const request = { workerId: { value: workerId } };
    const stream: ClientReadableStream<JobResult> = this.results.listenStreamByWorker(request);
    stream.on('data', (result: JobResult) => {
      const jobId = result.data?.jobId?.value;
      if (jobId !== undefined) onResult(String(jobId));
    });
    stream.on('error', (err: ServiceError) => {
      if (err.code !== status.CANCELLED) onError(err);
    });
    return () => stream.cancel();
  }

  close(): void {
    for (const client of [this.runners, this.workers, this.jobs, this.results, this.batches]) client.close();
  }

  private async echoRunnerId(): Promise<number> {
    const found = await new Promise<Runner[]>((resolve, reject) => {
      const list: Runner[] = [];
      const stream = this.runners.findList({});
      stream.on('data', (runner: Runner) => list.push(runner));
      stream.on('error', reject);
      stream.on('end', () => resolve(list));
    });
    const echo = found.find((runner) => runner.data?.name === ECHO_PLUGIN);
    if (echo?.id === undefined) throw new Error(`no ${ECHO_PLUGIN} runner: is PLUGINS_RUNNER_DIR set to plugins/?`);
    return echo.id.value;
  }
}

function unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err === null ? resolve(res) : reject(err)));
  });
}
