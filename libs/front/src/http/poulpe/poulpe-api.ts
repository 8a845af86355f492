/**
 * The poulpe-compatible HTTP API of a front (docs/poulpe-api.md):
 * - `POST /task_in_queue`: a poulpe task becomes a job of one of the API's workers (see poulpe-workers.ts), its `id`
 *   the job's uniq_key; with `wait` > 0 the answer is the task's final result, or 504 Timeout when it takes longer;
 * - `GET /task_resp/<id>` (also `task-<id>`): the task's final result, waiting up to `?timeout=` seconds (60 by
 *   default) while it is unfinished; reading does not consume it, so any number of readers get it;
 * - `GET /sys_info`: poulpe's `{working_keys, delaying_keys, wronging_keys, channel_sizes}` from the system status,
 *   plus the whole status under `status`.
 * Answers keep poulpe's shape `{"result": "OK"|"Fail"|"Timeout", "reason": ...}`; what the client got wrong has a 4xx
 * status (400 bad task, 401 token, 403 not allowed by the configuration, 404 unknown task, 409 id already queued,
 * 413 body too large), and an `error` field with the same message.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PoulpeConfig } from '../../../../config/src/index.js';
import type { IdGenerator, Job, JobResult, Logger } from '../../../../core/src/index.js';
import {
  AlreadyExistsError,
  CancelledError,
  clip,
  coerceError,
  DeadlineExceededError,
  isFinalStatus,
  JobworkerpError,
  Priority,
  quote,
} from '../../../../core/src/index.js';
import type { JobLifecycle, SystemStatusReader } from '../../../../jobs/src/index.js';
import type { ResultBus } from '../../../../queue/src/index.js';
import type { Storage } from '../../../../storage/src/index.js';
import { httpStatusOf } from '../../grpc-errors.js';
import { checkBearerToken } from './poulpe-auth.js';
import type { HttpListener, TlsMaterial } from '../http-listener.js';
import { HttpError, readJson, sendJson, startHttpListener } from '../http-listener.js';
import { poulpeResult } from './poulpe-result.js';
import { poulpeSysInfo } from './poulpe-sys-info.js';
import { PoulpeWorkers } from './poulpe-workers.js';
import { parseTask } from './task.js';

/** task_resp waits this long without `?timeout=` (poulpe's fixed BLPOP timeout). */
export const DEFAULT_TASK_RESP_SECONDS = 60;

export interface PoulpeApiDeps {
  readonly config: PoulpeConfig;
  /** AUTH_TOKEN: when set, every request needs it (`jobworkerp-auth` header or `Authorization: Bearer`) */
  readonly authToken: string | undefined;
  /** HTTP_MAX_BODY_BYTES */
  readonly maxBodyBytes: number;
  /** JOB_QUEUE_FETCH_INTERVAL (worker rules) */
  readonly fetchIntervalMs: number;
  readonly storage: Pick<Storage, 'workers' | 'runners' | 'jobs' | 'results' | 'capabilities'>;
  readonly lifecycle: Pick<JobLifecycle, 'enqueue' | 'status' | 'statuses' | 'find'>;
  readonly bus: ResultBus;
  readonly ids: IdGenerator;
  readonly status: Pick<SystemStatusReader, 'read'>;
  readonly logger: Logger;
  readonly tls?: TlsMaterial | undefined;
  /** told after one of the API's workers was changed back to its configured definition */
  readonly onWorkerChanged?: ((workerId: number) => void) | undefined;
}

/** Creates the API's workers, then listens on POULPE_HTTP_ADDR. */
export async function startPoulpeApi(deps: PoulpeApiDeps): Promise<HttpListener> {
  const workers = new PoulpeWorkers({
    config: deps.config,
    storage: deps.storage,
    fetchIntervalMs: deps.fetchIntervalMs,
    logger: deps.logger,
    onWorkerChanged: deps.onWorkerChanged,
  });
  await workers.ensureAll();
  const api = new PoulpeApi(deps, workers);
  return startHttpListener({
    setting: 'POULPE_HTTP_ADDR',
    host: deps.config.addr.host,
    port: deps.config.addr.port,
    tls: deps.tls,
    logger: deps.logger,
    // the request timeout bounds receiving the request only: long polls (wait, task_resp) answer later unharmed
    handler: (req, res) => api.handle(req, res),
  });
}

/** The answer to a task that is not final yet when the wait ends. */
const timeoutBody = (id: string, seconds: number): Record<string, string> => ({
  result: 'Timeout',
  reason: `task ${quote(id)} has no final result after ${seconds} s; it keeps running: GET /task_resp/${encodeURIComponent(id)}`,
});

export class PoulpeApi {
  constructor(
    private readonly deps: PoulpeApiDeps,
    private readonly workers: PoulpeWorkers,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (thrown) {
      const err = coerceError(thrown);
      let status: number;
      let headers: Readonly<Record<string, string>> = {};
      if (err instanceof HttpError) {
        status = err.status;
        headers = err.headers;
      } else if (err instanceof JobworkerpError) {
        status = httpStatusOf(err.kind);
        if (status >= 500) this.deps.logger.warn({ err, path: pathOf(req) }, 'a poulpe API request failed');
      } else {
        // the listener answers 500 and logs it, without the message
        throw thrown;
      }
      // a client that went away during a wait has no one to answer
      if (res.destroyed) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const reason = clip(err.message, 2000);
      sendJson(res, status, { result: 'Fail', reason, error: reason }, headers);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkBearerToken(req, this.deps.authToken);
    const url = new URL(req.url ?? '/', 'http://poulpe.invalid');
    const path = url.pathname;
    if (path === '/task_in_queue') {
      allow(req, 'POST');
      return this.taskInQueue(req, res);
    }
    if (path.startsWith('/task_resp/')) {
      allow(req, 'GET');
      return this.taskResp(req, res, path.slice('/task_resp/'.length), url.searchParams.get('timeout'));
    }
    if (path === '/sys_info') {
      allow(req, 'GET');
      sendJson(res, 200, await poulpeSysInfo(this.deps, this.workers));
      return;
    }
    throw new HttpError(
      404,
      `no such path ${quote(path, 100)}; use POST /task_in_queue, GET /task_resp/<id> or GET /sys_info`,
    );
  }

  private async taskInQueue(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { deps } = this;
    const task = parseTask(await readJson(req, deps.maxBodyBytes), deps.config.maxWaitSeconds);
    const target = this.workers.target(task);
    const job: Job = {
      id: deps.ids.next(),
      workerId: target.worker.id,
      args: target.args,
      uniqKey: task.id,
      enqueueTime: Date.now(),
      grabbedUntilTime: undefined,
      runAfterTime: task.delaySeconds > 0 ? Date.now() + task.delaySeconds * 1000 : 0,
      retried: 0,
      priority: Priority.PRIORITY_MEDIUM,
      timeout: deps.config.taskTimeoutMs,
    };
    if (job.args.byteLength > deps.storage.capabilities.maxArgsBytes) {
      throw new HttpError(
        413,
        `the task is larger than the ${deps.storage.capabilities.maxArgsBytes} bytes a job can hold`,
      );
    }
    // a waiter registers before the job can finish, so a fast result is not missed
    const stop = new AbortController();
    const waiting =
      task.waitSeconds > 0 ? deps.bus.waitForJob(job.id, task.waitSeconds * 1000, closedSignal(res, stop)) : undefined;
    waiting?.catch(() => undefined);
    try {
      await deps.lifecycle.enqueue(job, target.worker);
    } catch (err) {
      stop.abort(err);
      if (err instanceof AlreadyExistsError) {
        throw new HttpError(
          409,
          `task ${quote(task.id)} is already queued and not finished; read its result with ` +
            `GET /task_resp/${encodeURIComponent(task.id)}, or send the task with another id`,
        );
      }
      throw err;
    }
    if (waiting === undefined) {
      sendJson(res, 200, { result: 'OK', reason: '', id: task.id });
      return;
    }
    let result: JobResult;
    try {
      result = (await waiting).decode();
    } catch (err) {
      if (err instanceof DeadlineExceededError) {
        sendJson(res, 504, { ...timeoutBody(task.id, task.waitSeconds), id: task.id });
        return;
      }
      throw err;
    }
    sendJson(res, 200, poulpeResult(task.id, result, this.workers.kindOf(result.workerId)));
  }

  private async taskResp(
    req: IncomingMessage,
    res: ServerResponse,
    rawKey: string,
    rawTimeout: string | null,
  ): Promise<void> {
    const { deps } = this;
    let key: string;
    try {
      key = decodeURIComponent(rawKey);
    } catch {
      throw new HttpError(400, 'the task id in the path is not valid percent-encoding');
    }
    if (key === '') throw new HttpError(400, 'give the task id: GET /task_resp/<id>');
    const seconds = rawTimeout === null ? DEFAULT_TASK_RESP_SECONDS : Number(rawTimeout);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > deps.config.maxWaitSeconds) {
      throw new HttpError(
        400,
        `timeout must be whole seconds from 0 to ${deps.config.maxWaitSeconds} (POULPE_MAX_WAIT_SECONDS), not ${quote(rawTimeout ?? '', 40)}`,
      );
    }
    // the id as sent, else poulpe's "task-<id>" form
    let found = await this.lookUp(key);
    let id = key;
    if (found === undefined && key.startsWith('task-')) {
      id = key.slice('task-'.length);
      found = await this.lookUp(id);
    }
    if (found === undefined) {
      throw new HttpError(404, `no task ${quote(key)}: none is queued, and no result is stored under that id`);
    }
    if ('result' in found) {
      sendJson(res, 200, poulpeResult(id, found.result, this.workers.kindOf(found.result.workerId)));
      return;
    }
    const result = await this.waitForFinal(found.job.id, seconds * 1000, res);
    if (result === undefined) {
      sendJson(res, 504, { ...timeoutBody(id, seconds), id });
      return;
    }
    sendJson(res, 200, poulpeResult(id, result, this.workers.kindOf(result.workerId)));
  }

  /** The unfinished task of the id (its job row), else its newest stored result. */
  private async lookUp(id: string): Promise<{ job: Job } | { result: JobResult } | undefined> {
    const { storage } = this.deps;
    if (id.length > 255) return undefined;
    // the job first: a job that ends in between has its result stored before its row goes
    const job = await storage.jobs.findByUniqKey(id);
    if (job !== undefined) return { job };
    const result = await storage.results.findLatestByUniqKey(id);
    return result === undefined ? undefined : { result };
  }

  /** The job's final result, waiting up to timeoutMs; undefined when it is not final by then. */
  private async waitForFinal(jobId: number, timeoutMs: number, res: ServerResponse): Promise<JobResult | undefined> {
    const { bus, storage, lifecycle } = this.deps;
    const stop = new AbortController();
    const waiting = bus.waitForJob(jobId, timeoutMs, closedSignal(res, stop));
    waiting.catch(() => undefined);
    // registered: now a result stored before (and no longer in the bus's memory) is found here
    const stored = await storage.results.findLatestByJobId(jobId);
    if (stored !== undefined && isFinalStatus(stored.status) && (await lifecycle.status(jobId)) === undefined) {
      stop.abort(new Error('found a stored result'));
      return stored;
    }
    try {
      return (await waiting).decode();
    } catch (err) {
      if (err instanceof DeadlineExceededError) return undefined;
      throw err;
    }
  }
}

/** Aborts when the client goes away, or when `stop` does. */
function closedSignal(res: ServerResponse, stop: AbortController): AbortSignal {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new CancelledError('the client closed the connection'));
  });
  return AbortSignal.any([gone.signal, stop.signal]);
}

function allow(req: IncomingMessage, method: 'GET' | 'POST'): void {
  const given = req.method ?? 'GET';
  if (given === method || (method === 'GET' && given === 'HEAD')) return;
  throw new HttpError(405, `use ${method} on this path, not ${clip(given, 20)}`, {
    Allow: method === 'GET' ? 'GET, HEAD' : 'POST',
  });
}

const pathOf = (req: IncomingMessage): string => (req.url ?? '/').split('?')[0] ?? '/';
