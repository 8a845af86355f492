import type {
  CallOptions,
  ClientDuplexStream,
  ClientReadableStream,
  ClientUnaryCall,
  ServiceError,
} from '@grpc/grpc-js';
import { Channel, connectivityState, credentials, Metadata } from '@grpc/grpc-js';
import {
  DeadLetterServiceClient,
  JobBatchServiceClient,
  JobResultServiceClient,
  JobServiceClient,
  JobStatusServiceClient,
  RunnerServiceClient,
  ScheduleServiceClient,
  SystemServiceClient,
  WorkerServiceClient,
} from '../../proto/src/index.js';
import type { ClientTls } from './client-tls.js';
import { diagnoseConnection } from './connection-diagnosis.js';
import { parseServerAddress } from './parse-address.js';
import { StatusError } from './status-error.js';

/** The metadata key the server reads the auth token from. */
const AUTH_METADATA_KEY = 'jobworkerp-auth';

export interface ConnectionOptions {
  /** `host:port` */
  readonly target: string;
  /** connect over TLS with this material (readClientTls); plain-text HTTP/2 when undefined */
  readonly tls?: ClientTls | undefined;
  /** sent as metadata `jobworkerp-auth` on every call when set */
  readonly authToken: string | undefined;
  /** the deadline of each call in ms (`-t/--timeout`); none when undefined */
  readonly callTimeoutMs: number | undefined;
  /** how long to wait for the connection before failing with UNAVAILABLE */
  readonly connectTimeoutMs: number;
  /** Ctrl-C: cancels every call in flight */
  readonly signal: AbortSignal;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (
  req: Req,
  md: Metadata,
  options: Partial<CallOptions>,
  cb: Callback<Res>,
) => ClientUnaryCall;
type ReqOf<F> = F extends UnaryMethod<infer Req, unknown> ? Req : never;
type ResOf<F> = F extends UnaryMethod<never, infer Res> ? Res : never;

/**
 * The jobworkerp service clients over one channel, plain text or TLS. Every call carries the auth metadata and the
 * call deadline, waits for the connection first (failing fast with UNAVAILABLE and the address when the server cannot
 * be reached, saying why when TLS is the reason), and is cancelled by the abort signal.
 */
export class GrpcConnection {
  readonly runner: RunnerServiceClient;
  readonly worker: WorkerServiceClient;
  readonly job: JobServiceClient;
  readonly jobResult: JobResultServiceClient;
  readonly jobStatus: JobStatusServiceClient;
  /** jobworkerp.ext.JobBatchService (jobworkerp-ts only) */
  readonly jobBatch: JobBatchServiceClient;
  /** jobworkerp.ext.ScheduleService (jobworkerp-ts only) */
  readonly schedule: ScheduleServiceClient;
  /** jobworkerp.ext.DeadLetterService (jobworkerp-ts only) */
  readonly deadLetter: DeadLetterServiceClient;
  /** jobworkerp.ext.SystemService (jobworkerp-ts only) */
  readonly system: SystemServiceClient;
  private readonly channel: Channel;
  private ready: Promise<void> | undefined;
  private closed = false;
  /** the calls in flight, cancelled when the signal aborts (one listener for all: no warning at 11 concurrent calls) */
  private readonly inFlight = new Set<{ cancel(): void }>();

  constructor(private readonly options: ConnectionOptions) {
    const { tls } = options;
    const creds =
      tls === undefined
        ? credentials.createInsecure()
        : credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
    this.channel = new Channel(options.target, creds, {});
    const shared = { channelOverride: this.channel };
    this.runner = new RunnerServiceClient(options.target, creds, shared);
    this.worker = new WorkerServiceClient(options.target, creds, shared);
    this.job = new JobServiceClient(options.target, creds, shared);
    this.jobResult = new JobResultServiceClient(options.target, creds, shared);
    this.jobStatus = new JobStatusServiceClient(options.target, creds, shared);
    this.jobBatch = new JobBatchServiceClient(options.target, creds, shared);
    this.schedule = new ScheduleServiceClient(options.target, creds, shared);
    this.deadLetter = new DeadLetterServiceClient(options.target, creds, shared);
    this.system = new SystemServiceClient(options.target, creds, shared);
    options.signal.addEventListener('abort', () => this.inFlight.forEach((call) => call.cancel()), { once: true });
  }

  /** Calls a unary method by name: `unary(conn.worker, 'find', { value: 1 })`. */
  async unary<C extends object, K extends keyof C & string>(
    client: C,
    method: K,
    req: ReqOf<C[K]>,
  ): Promise<ResOf<C[K]>> {
    await this.connect();
    const fn = client[method] as unknown as UnaryMethod<ReqOf<C[K]>, ResOf<C[K]>>;
    return new Promise((resolve, reject) => {
      let release = (): void => undefined;
      const call = fn.call(client, req, this.metadata(), this.callOptions(), (err, res) => {
        release();
        if (err === null) resolve(res);
        else reject(err);
      });
      release = this.cancelOnAbort(call);
    });
  }

  /**
   * Runs a server stream, handing each message to `onItem` in order (waiting for it before the next), and resolves
   * when the stream ends: `stream((md, o) => conn.worker.findList({}, md, o), print)`.
   */
  async stream<T>(
    start: (metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<T>,
    onItem: (item: T) => void | Promise<void>,
  ): Promise<void> {
    await this.connect();
    const call = start(this.metadata(), this.callOptions());
    const release = this.cancelOnAbort(call);
    try {
      await new Promise<void>((resolve, reject) => {
        let chain = Promise.resolve();
        call.on('data', (item: T) => {
          chain = chain.then(() => onItem(item));
          chain.catch((err: unknown) => {
            call.cancel();
            reject(err instanceof Error ? err : new Error(String(err)));
          });
        });
        call.on('error', reject);
        call.on('end', () => void chain.then(resolve, reject));
      });
    } finally {
      release();
    }
  }

  /**
   * Opens a bidi stream once connected, with the auth metadata and cancelled by the abort signal. It has no deadline:
   * a stream outlives single calls, so its user bounds each exchange itself.
   */
  async duplex<Req, Res>(
    start: (metadata: Metadata, options: Partial<CallOptions>) => ClientDuplexStream<Req, Res>,
  ): Promise<ClientDuplexStream<Req, Res>> {
    await this.connect();
    const call = start(this.metadata(), {});
    call.once('status', this.cancelOnAbort(call));
    return call;
  }

  /** Closes the channel; the process can then exit. Later calls fail with UNAVAILABLE, saying the client is closed. */
  close(): void {
    this.closed = true;
    this.channel.close();
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.options.authToken !== undefined) md.set(AUTH_METADATA_KEY, this.options.authToken);
    return md;
  }

  private callOptions(): Partial<CallOptions> {
    const t = this.options.callTimeoutMs;
    return t === undefined ? {} : { deadline: Date.now() + t };
  }

  private cancelOnAbort(call: { cancel(): void }): () => void {
    if (this.options.signal.aborted) call.cancel();
    this.inFlight.add(call);
    return () => void this.inFlight.delete(call);
  }

  private connect(): Promise<void> {
    if (this.closed) {
      return Promise.reject(new StatusError('UNAVAILABLE', 'the client is closed: make calls on a new client'));
    }
    this.ready ??= this.waitUntilReady();
    return this.ready;
  }

  /**
   * Waits until the channel is READY. A failed connection attempt (TRANSIENT_FAILURE: refused, unreachable,
   * unknown host, a TLS handshake that failed) fails at once, with the TLS reason when there is one; a connection that
   * hangs fails after connectTimeoutMs.
   */
  private async waitUntilReady(): Promise<void> {
    const { target, connectTimeoutMs, signal } = this.options;
    const deadline = Date.now() + connectTimeoutMs;
    for (;;) {
      const state = this.channel.getConnectivityState(true);
      if (state === connectivityState.READY) return;
      if (state === connectivityState.SHUTDOWN) {
        throw new StatusError('UNAVAILABLE', `cannot connect to ${target}: the client is closed`);
      }
      if (state === connectivityState.TRANSIENT_FAILURE) throw await this.connectFailure();
      if (signal.aborted) throw new Error(`interrupted while connecting to ${target}`);
      await new Promise<void>((resolve, reject) =>
        this.channel.watchConnectivityState(state, deadline, (err) =>
          err === undefined
            ? resolve()
            : reject(new StatusError('UNAVAILABLE', `no connection to ${target} within ${connectTimeoutMs} ms`)),
        ),
      );
    }
  }

  /** The error of a failed connection: why TLS failed when that is the reason, else whether the server runs. */
  private async connectFailure(): Promise<StatusError> {
    const { target, tls } = this.options;
    const over = tls === undefined ? '' : ' over TLS';
    let diagnosis;
    try {
      diagnosis = await diagnoseConnection(parseServerAddress(target), tls);
    } catch {
      diagnosis = undefined;
    }
    return diagnosis === undefined
      ? new StatusError('UNAVAILABLE', `cannot connect to ${target}${over}; is the jobworkerp server running there?`)
      : new StatusError('UNAVAILABLE', `cannot connect to ${target}${over}: ${diagnosis.text}`, diagnosis.problem);
  }
}
