/**
 * A steady flow of Enqueue calls for outage tests: a few loops call a front one request at a time, with a short
 * pause, and record every call: when it started and ended, and either the job id it returned or the gRPC code and
 * message it failed with.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CreateJobResponse, JobRequest, JobServiceClient } from '../../libs/proto/src/index.js';

export interface EnqueueAttempt<K extends string> {
  readonly kind: K;
  readonly startedAt: number;
  readonly endedAt: number;
  /** set when the call returned OK */
  readonly jobId?: number;
  /** the gRPC status code, set when the call failed */
  readonly code?: number;
  readonly message?: string;
}

export interface EnqueueFlowOptions<K extends string> {
  readonly client: JobServiceClient;
  /** the kinds of job to enqueue, taken in turn */
  readonly kinds: readonly K[];
  /** the request for a job of a kind (built at each call, so times in it are fresh) */
  readonly request: (kind: K) => JobRequest;
  /** @default 3 */
  readonly loops?: number;
  /** pause after each call, ms. @default 30 */
  readonly pauseMs?: number;
  /** gRPC deadline of each call, ms. @default 20000 */
  readonly deadlineMs?: number;
}

export class EnqueueFlow<K extends string> {
  readonly attempts: Array<EnqueueAttempt<K>> = [];
  private stopped = false;
  private turn = 0;
  private readonly loops: Array<Promise<void>>;

  constructor(private readonly options: EnqueueFlowOptions<K>) {
    this.loops = Array.from({ length: options.loops ?? 3 }, () => this.loop());
  }

  /** Stops calling and waits for the calls in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** The calls that returned OK. */
  accepted(): Array<EnqueueAttempt<K> & { readonly jobId: number }> {
    return this.attempts.filter((a): a is EnqueueAttempt<K> & { jobId: number } => a.jobId !== undefined);
  }

  /** The calls that failed. */
  failed(): Array<EnqueueAttempt<K>> {
    return this.attempts.filter((a) => a.jobId === undefined);
  }

  /** Resolves once `count` calls that started at or after `since` returned OK; rejects after `timeoutMs`. */
  async waitForAccepted(since: number, count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = (): number => this.accepted().filter((a) => a.startedAt >= since).length;
    while (seen() < count) {
      if (Date.now() > deadline) {
        const last = this.attempts.slice(-3).map((a) => a.message ?? `job ${a.jobId}`);
        throw new Error(
          `only ${seen()} of ${count} Enqueue calls succeeded within ${timeoutMs} ms; last: ${last.join(' | ')}`,
        );
      }
      await sleep(50);
    }
  }

  private async loop(): Promise<void> {
    const { client, kinds, request, pauseMs = 30, deadlineMs } = this.options;
    while (!this.stopped) {
      const kind = kinds[this.turn++ % kinds.length] as K;
      this.attempts.push(await attemptEnqueue(client, kind, request(kind), deadlineMs));
      await sleep(pauseMs);
    }
  }
}

/** One Enqueue call, recorded; never rejects. */
export async function attemptEnqueue<K extends string>(
  client: JobServiceClient,
  kind: K,
  request: JobRequest,
  deadlineMs = 20_000,
): Promise<EnqueueAttempt<K>> {
  const startedAt = Date.now();
  try {
    const res = await new Promise<CreateJobResponse>((resolve, reject) => {
      client.enqueue(request, new Metadata(), { deadline: startedAt + deadlineMs }, (err, out) =>
        err === null ? resolve(out) : reject(err),
      );
    });
    return { kind, startedAt, endedAt: Date.now(), jobId: res.id?.value ?? -1 };
  } catch (err) {
    const { code, details, message } = err as ServiceError;
    return { kind, startedAt, endedAt: Date.now(), code, message: details ?? message };
  }
}
