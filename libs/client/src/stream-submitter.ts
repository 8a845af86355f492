/**
 * Enqueues over one jobworkerp.ext.JobBatchService/EnqueueStream, so that concurrent enqueues share a bidi stream
 * instead of paying a unary call each.
 *
 * States of the submitter: no stream → opening (the first submit opens it; concurrent submits wait for the same
 * stream) → open (each submit writes its request and waits for its outcome: the server answers in request order,
 * so outcomes are matched to requests first in, first out) → retired, when the stream fails, ends, stays idle for
 * IDLE_END_MS (its write side is ended) or the client closes. A retired stream takes no more requests; the next
 * submit opens a new one. Closed, after close(): submits are refused.
 *
 * When a stream breaks, every request still waiting for its outcome fails with UNAVAILABLE and a message saying that
 * the job may or may not have been enqueued: nothing is sent again by itself (a job is never enqueued twice
 * silently), and nothing is left waiting. An UNAUTHENTICATED, PERMISSION_DENIED or CANCELLED stream passes that
 * status on as it is. A server without the extension (UNIMPLEMENTED: jobworkerp-rs) refused the stream before
 * reading anything, so its requests, and every later one, go through the unary JobService.Enqueue instead.
 */
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { CreateJobResponse, EnqueueOutcome, JobRequest } from '../../proto/src/index.js';
import type { GrpcConnection } from './grpc-connection.js';
import type { JobSubmitter } from './jobworkerp-client.js';
import { isServiceError, serviceError } from './service-error.js';
import { StatusError } from './status-error.js';

/** How long an open stream with nothing in flight stays open for the next enqueue. */
const IDLE_END_MS = 2000;

/** Statuses of a failed stream that are passed on as they are (retrying would not help, or the caller asked). */
const PASSED_ON: ReadonlySet<status> = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.CANCELLED]);

/** A request waiting for its outcome. */
interface Waiter {
  readonly resolve: (res: CreateJobResponse) => void;
  readonly reject: (err: Error) => void;
  /** set once the caller got an answer (the deadline passed): the outcome is then only counted, not delivered */
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface StreamSubmitterOptions {
  /** how long each job waits for its outcome before failing with DEADLINE_EXCEEDED; none when undefined */
  readonly timeoutMs: number | undefined;
  /** sends a request through the unary JobService.Enqueue (for a server without the extension) */
  readonly unary: JobSubmitter;
}

export class StreamSubmitter implements JobSubmitter {
  private current: Promise<OpenStream> | undefined;
  private unsupported = false;
  private closed = false;

  constructor(
    private readonly conn: GrpcConnection,
    private readonly options: StreamSubmitterOptions,
  ) {}

  submit(request: JobRequest): Promise<CreateJobResponse> {
    return this.submitOnce(request, false);
  }

  private async submitOnce(request: JobRequest, reopened: boolean): Promise<CreateJobResponse> {
    if (this.closed) throw new StatusError('UNAVAILABLE', 'the client is closed: enqueue on a new client');
    if (this.unsupported) return this.options.unary.submit(request);
    const opening = (this.current ??= this.open());
    let stream: OpenStream;
    try {
      stream = await opening;
    } catch (err) {
      if (this.current === opening) this.current = undefined;
      throw err;
    }
    if (!stream.accepting) {
      // retired (broken, idle) while this submit waited for it, or before: take a new one, once
      if (this.current === opening) this.current = undefined;
      if (reopened) {
        throw serviceError(
          status.UNAVAILABLE,
          'the enqueue stream ended as soon as it was opened; nothing was sent: retry',
        );
      }
      return this.submitOnce(request, true);
    }
    return stream.send(request);
  }

  /** Ends the write side of the open stream: what is in flight still gets its outcome. Later submits are refused. */
  close(): void {
    this.closed = true;
    void this.current?.then(
      (s) => s.end(),
      () => undefined,
    );
    this.current = undefined;
  }

  private async open(): Promise<OpenStream> {
    const call = await this.conn.duplex((md, o) => this.conn.jobBatch.enqueueStream(md, o));
    return new OpenStream(call, this.options.timeoutMs, (err, waiting) => this.retired(err, waiting));
  }

  /** A stream is done: fail what still waits on it, or send it through unary Enqueue when the server lacks it. */
  private retired(err: ServiceError | undefined, waiting: readonly JobRequestWaiter[]): void {
    if (err?.code === status.UNIMPLEMENTED) {
      this.unsupported = true;
      for (const { request, waiter } of waiting) {
        this.options.unary.submit(request).then(
          (res) => settle(waiter, () => waiter.resolve(res)),
          (e: unknown) => settle(waiter, () => waiter.reject(e instanceof Error ? e : new Error(String(e)))),
        );
      }
      return;
    }
    const reason = (): Error => {
      if (err !== undefined && PASSED_ON.has(err.code)) return err;
      const cause = err === undefined ? 'the server ended it' : `${status[err.code] ?? err.code}: ${err.details}`;
      return serviceError(
        status.UNAVAILABLE,
        `the enqueue stream broke before this job's outcome came (${cause}); the job may or may not be enqueued: ` +
          'retry it (with a uniqKey, a retry cannot enqueue it twice)',
      );
    };
    for (const { waiter } of waiting) settle(waiter, () => waiter.reject(reason()));
  }
}

/** A waiter with the request it waits for (kept to send it again through unary Enqueue on UNIMPLEMENTED). */
interface JobRequestWaiter {
  readonly request: JobRequest;
  readonly waiter: Waiter;
}

/** One EnqueueStream call and the requests that wait for their outcome, in the order they were written. */
class OpenStream {
  private readonly waiting: JobRequestWaiter[] = [];
  private idle: NodeJS.Timeout | undefined;
  /** no more requests are written */
  private retired = false;
  /** what waited was handed to onRetired */
  private finished = false;
  constructor(
    private readonly call: ClientDuplexStream<JobRequest, EnqueueOutcome>,
    private readonly timeoutMs: number | undefined,
    private readonly onRetired: (err: ServiceError | undefined, waiting: readonly JobRequestWaiter[]) => void,
  ) {
    call.on('data', (outcome: EnqueueOutcome) => this.answer(outcome));
    call.on('error', (err: Error) =>
      this.retire(isServiceError(err) ? err : serviceError(status.UNKNOWN, err.message)),
    );
    call.on('end', () => this.retire(undefined));
    this.idleAfterwards();
  }

  /** false once retired: a submit must take another stream */
  get accepting(): boolean {
    return !this.retired;
  }

  send(request: JobRequest): Promise<CreateJobResponse> {
    clearTimeout(this.idle);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, settled: false, timer: undefined };
      if (this.timeoutMs !== undefined) {
        const ms = this.timeoutMs;
        waiter.timer = setTimeout(() => {
          settle(waiter, () =>
            reject(
              serviceError(status.DEADLINE_EXCEEDED, `no outcome within ${ms} ms; the job may or may not be enqueued`),
            ),
          );
        }, ms);
      }
      this.waiting.push({ request, waiter });
      // grpc-js buffers what the transport cannot take yet; the server reads at its own pace
      this.call.write(request);
    });
  }

  /** Half-closes the stream: no more requests; the server answers those it has and then ends it. */
  end(): void {
    if (this.retired) return;
    clearTimeout(this.idle);
    this.retired = true;
    this.call.end();
    if (this.waiting.length === 0) this.finish(undefined);
  }

  private answer(outcome: EnqueueOutcome): void {
    const head = this.waiting.shift();
    if (head === undefined) {
      this.call.cancel();
      this.retire(serviceError(status.INTERNAL, 'the server answered more outcomes than it was sent requests'));
      return;
    }
    const { waiter } = head;
    settle(waiter, () => {
      if (outcome.id !== undefined) waiter.resolve({ id: outcome.id, result: undefined });
      else waiter.reject(serviceError(outcome.error?.code ?? status.UNKNOWN, outcome.error?.message ?? 'no outcome'));
    });
    if (this.waiting.length === 0) {
      if (this.retired) this.finish(undefined);
      else this.idleAfterwards();
    }
  }

  private retire(err: ServiceError | undefined): void {
    clearTimeout(this.idle);
    this.retired = true;
    this.finish(err);
  }

  /** Hands what still waits to the submitter, once. */
  private finish(err: ServiceError | undefined): void {
    const left = this.waiting.splice(0);
    if (this.finished) return;
    this.finished = true;
    this.onRetired(err, left);
  }

  private idleAfterwards(): void {
    this.idle = setTimeout(() => this.end(), IDLE_END_MS);
    this.idle.unref();
  }
}

/** Runs `answer` unless the waiter was answered already; stops its deadline. */
function settle(waiter: Waiter, answer: () => void): void {
  clearTimeout(waiter.timer);
  if (waiter.settled) return;
  waiter.settled = true;
  answer();
}
