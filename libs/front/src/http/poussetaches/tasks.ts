/**
 * poussetaches' task objects, as its list endpoints answered them, made from our rows: a push job (waiting), a
 * stored result (success), a dead letter (dead) or a schedule (cron). Times are unix nanoseconds, like poussetaches';
 * payloads and error bodies are base64.
 */
import type { DeadLetter, Job, JobResult, Schedule } from '../../../../core/src/index.js';
import { HttpRequestArgs, HttpRequestResult } from '../../../../proto/src/index.js';

export interface Task {
  readonly id: string;
  readonly url: string;
  readonly payload: string;
  readonly expected: number;
  readonly schedule: string;
  readonly next_scheduled_run: number;
  readonly next_run: number;
  readonly tries: number;
  readonly last_run: number;
  readonly last_error_status_code: number;
  readonly last_error_body: string;
}

/** The push a job's args describe: the receiver's URL, the payload and the expected status. */
export interface Push {
  readonly url: string;
  readonly payload: Uint8Array;
  readonly expected: number;
}

/** The job args of a push. */
export function pushArgs(push: Push): Uint8Array {
  return HttpRequestArgs.encode(
    HttpRequestArgs.fromPartial({
      method: 'POST',
      path: push.url,
      bodyBytes: Buffer.from(push.payload),
      expectedStatus: push.expected,
    }),
  ).finish();
}

/** The push in job args; undefined when they are not a push's (someone else's job on the worker). */
export function pushOf(args: Uint8Array): Push | undefined {
  try {
    const decoded = HttpRequestArgs.decode(args);
    return {
      url: decoded.path,
      payload: decoded.bodyBytes ?? Buffer.from(decoded.body ?? '', 'utf8'),
      expected: decoded.expectedStatus ?? 200,
    };
  } catch {
    return undefined;
  }
}

const ns = (ms: number): number => (ms > 0 ? ms * 1_000_000 : 0);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** The status and body of a failed attempt: the receiver's answer, or -1 when there was none (a network error). */
export function lastError(output: readonly Uint8Array[]): { status: number; body: string } {
  const answer = output[1];
  if (answer !== undefined) {
    try {
      const result = HttpRequestResult.decode(answer);
      return { status: result.statusCode, body: Buffer.from(result.content, 'utf8').toString('base64') };
    } catch {
      // not an HTTP answer: fall through
    }
  }
  return { status: -1, body: output[0] === undefined ? '' : b64(output[0]) };
}

function base(id: number, push: Push): Omit<Task, 'next_run' | 'tries' | 'last_run'> {
  return {
    id: String(id),
    url: push.url,
    payload: b64(push.payload),
    expected: push.expected,
    schedule: '',
    next_scheduled_run: 0,
    last_error_status_code: 0,
    last_error_body: '',
  };
}

/** A waiting push: its job, and the result of its last failed attempt when it had one. */
export function waitingTask(job: Job, push: Push, last: JobResult | undefined): Task {
  const error = last === undefined ? undefined : lastError(last.output);
  return {
    ...base(job.id, push),
    next_run: ns(job.runAfterTime > 0 ? job.runAfterTime : job.enqueueTime),
    tries: job.retried,
    last_run: ns(last?.startTime ?? 0),
    last_error_status_code: error?.status ?? 0,
    last_error_body: error?.body ?? '',
  };
}

/** A delivered push: its successful result. */
export function successTask(result: JobResult, push: Push): Task {
  return {
    ...base(result.jobId, push),
    next_run: ns(result.runAfterTime > 0 ? result.runAfterTime : result.enqueueTime),
    tries: result.retried + 1,
    last_run: ns(result.startTime),
  };
}

/** A push given up: its dead letter. */
export function deadTask(letter: DeadLetter, push: Push): Task {
  const error = lastError(letter.output);
  return {
    ...base(letter.jobId, push),
    next_run: ns(letter.runAfterTime > 0 ? letter.runAfterTime : letter.enqueueTime),
    tries: letter.retried + 1,
    last_run: ns(letter.startTime),
    last_error_status_code: error.status,
    last_error_body: error.body,
  };
}

/** A cron push: its schedule. */
export function cronTask(schedule: Schedule, push: Push): Task {
  return {
    ...base(schedule.id, push),
    schedule: schedule.cron,
    next_scheduled_run: ns(schedule.nextTickTime),
    next_run: ns(schedule.nextTickTime),
    tries: 0,
    last_run: ns(schedule.lastTickTime),
  };
}
