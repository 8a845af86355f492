/**
 * poussetaches' HTTP push API on our job system (docs/poussetaches-api.md): `POST /` registers a push (or a cron push)
 * and answers 201 with `Poussetaches-Task-ID`; the push worker (an HTTP_REQUEST worker, see push-worker.ts) POSTs
 * `{"payload","tries","req_id"}` with the `Poussetaches-Auth-Key` header to the task's URL until it answers the
 * expected status, retrying with a 4x back-off; tasks that run out of tries are the worker's dead letters.
 * `GET /` tells whether deliveries are paused, `POST /pause` and `POST /resume` switch them for the whole cluster
 * (a switch in the RDB), and `GET /waiting|/success|/dead|/cron` list the tasks.
 *
 * Unlike poussetaches: bad input gets a 4xx with a message (never a dropped connection); with AUTH_TOKEN set the API
 * needs it (`jobworkerp-auth: <token>` or `Authorization: Bearer <token>`); cron tasks live in the RDB, so they
 * survive restarts; the pause is persistent; req_id is the job id, the same on every attempt.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IdGenerator, Job, Logger, Schedule, Worker } from '../../../../core/src/index.js';
import {
  AlreadyExistsError,
  clip,
  InvalidArgumentError,
  JobStatus,
  parseCron,
  Priority,
  quote,
  ResultStatus,
} from '../../../../core/src/index.js';
import type { JobLifecycle } from '../../../../jobs/src/index.js';
import type { Storage } from '../../../../storage/src/index.js';
import { AUTH_METADATA_KEY } from '../../auth.js';
import { WorkerResolver } from '../../job-context.js';
import { jobFromRequest } from '../../job-request.js';
import type { HttpListener, TlsMaterial } from '../http-listener.js';
import { HttpError, readJson, sendJson, startHttpListener } from '../http-listener.js';
import type { PushWorkerOptions } from './push-worker.js';
import { ensurePushWorker, pauseSwitchOf } from './push-worker.js';
import type { Push, Task } from './tasks.js';
import { cronTask, deadTask, pushArgs, pushOf, successTask, waitingTask } from './tasks.js';

/** The header of POST /'s answer that carries the task id. */
export const TASK_ID_HEADER = 'Poussetaches-Task-ID';

/** The longest receiver URL accepted. */
const MAX_URL_CHARS = 2048;
/** The longest delay (minutes): ten years. */
const MAX_DELAY_MINUTES = 10 * 366 * 24 * 60;
/** Rows read per page when a list scans a table. */
const SCAN_PAGE = 500;

export interface PoussetachesApiOptions extends PushWorkerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsMaterial;
  /** AUTH_TOKEN: when set, every call needs it */
  readonly authToken: string | undefined;
  readonly maxBodyBytes: number;
  /** the most tasks a list answers */
  readonly listLimit: number;
  readonly storage: Storage;
  readonly lifecycle: JobLifecycle;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** told after the push worker was created or changed */
  readonly onWorkerChanged?: (workerId: number) => void;
  /** told after a cron push was registered */
  readonly onScheduleChanged?: () => void;
  readonly now?: () => number;
}

/** Makes sure the push worker exists and starts the API; close the listener to stop it. */
export async function startPoussetachesApi(options: PoussetachesApiOptions): Promise<HttpListener> {
  const { logger } = options;
  const { worker, changed } = await ensurePushWorker(options.storage, options, logger);
  if (changed) options.onWorkerChanged?.(worker.id);
  const api = new PoussetachesApi(options, worker);
  return startHttpListener({
    setting: 'POUSSETACHES_HTTP_ADDR',
    host: options.host,
    port: options.port,
    tls: options.tls,
    logger,
    handler: (req, res) => api.handle(req, res),
  });
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

class PoussetachesApi {
  private readonly resolver: WorkerResolver;
  private readonly now: () => number;
  private readonly expectedToken: Buffer | undefined;
  private readonly switchName: string;

  constructor(
    private readonly options: PoussetachesApiOptions,
    private readonly worker: Worker,
  ) {
    this.resolver = new WorkerResolver(options.storage);
    this.now = options.now ?? Date.now;
    this.expectedToken = options.authToken === undefined ? undefined : digest(options.authToken);
    this.switchName = pauseSwitchOf(worker.name);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.authenticate(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const route = ROUTES[path];
    if (route === undefined) {
      throw new HttpError(404, `no such endpoint ${quote(clip(path, 100))}; see docs/poussetaches-api.md`);
    }
    const verb = method === 'HEAD' ? 'GET' : method;
    if (!route.includes(verb)) {
      throw new HttpError(405, `${path} answers ${route.join(', ')}, not ${clip(method, 20)}`, {
        Allow: route.join(', '),
      });
    }
    switch (`${verb} ${path}`) {
      case 'POST /':
        return this.push(req, res);
      case 'GET /':
        return sendJson(res, 200, await this.status());
      case 'POST /pause':
      case 'POST /resume':
        await this.options.storage.switches.set(this.switchName, path === '/pause', this.now());
        this.options.logger.info({ worker: this.worker.name }, `poussetaches deliveries ${path.slice(1)}d`);
        res.writeHead(200, { 'Content-Length': 0 });
        res.end();
        return;
      case 'GET /waiting':
        return sendJson(res, 200, { tasks: await this.waiting() });
      case 'GET /success':
        return sendJson(res, 200, { tasks: await this.success() });
      case 'GET /dead':
        return sendJson(res, 200, { tasks: await this.dead() });
      case 'GET /cron':
        return sendJson(res, 200, { tasks: await this.cron() });
    }
  }

  /** AUTH_TOKEN, when set, in `jobworkerp-auth` or `Authorization: Bearer`; compared in constant time, never echoed. */
  private authenticate(req: IncomingMessage): void {
    const expected = this.expectedToken;
    if (expected === undefined) return;
    const header = req.headers[AUTH_METADATA_KEY];
    const bearer = /^Bearer +(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = typeof header === 'string' ? header : bearer;
    if (given === undefined) {
      throw new HttpError(
        401,
        `missing credentials; send the server's AUTH_TOKEN in header "${AUTH_METADATA_KEY}" or as "Authorization: Bearer <token>"`,
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    if (!timingSafeEqual(digest(given.trim()), expected)) {
      throw new HttpError(401, "the token does not match the server's AUTH_TOKEN", { 'WWW-Authenticate': 'Bearer' });
    }
  }

  private async push(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = parsePushRequest(await readJson(req, this.options.maxBodyBytes));
    const args = pushArgs(request);
    const id =
      request.schedule === undefined
        ? await this.enqueue(args, request.delayMinutes)
        : await this.registerCron(request, args);
    res.writeHead(201, { [TASK_ID_HEADER]: id, 'Content-Length': 0 });
    res.end();
  }

  private async enqueue(args: Uint8Array, delayMinutes: number): Promise<string> {
    const runAfterTime = delayMinutes > 0 ? this.now() + Math.round(delayMinutes * 60_000) : undefined;
    const { storage, lifecycle, ids } = this.options;
    const { job, worker } = await jobFromRequest(
      { workerName: this.worker.name, args: Buffer.from(args), runAfterTime },
      this.resolver,
      ids,
      storage.capabilities,
    );
    await lifecycle.enqueue(job, worker);
    return String(job.id);
  }

  /** A cron push is a schedule named sha1(url‖payload‖schedule): registering it again answers the same id. */
  private async registerCron(request: PushRequest, args: Uint8Array): Promise<string> {
    const { storage } = this.options;
    const name = createHash('sha1')
      .update(request.url)
      .update(request.payload)
      .update(request.schedule ?? '')
      .digest('hex');
    const existing = await storage.schedules.findByName(name);
    if (existing !== undefined) return String(existing.id);
    const ticks = parseCron(cronOf(request.schedule ?? ''));
    const next = ticks.nextAfter(this.now());
    if (next === undefined) {
      throw new HttpError(400, `schedule ${quote(request.schedule ?? '')} names no time after now`);
    }
    const { maxArgsBytes, dialect } = storage.capabilities;
    if (args.length > maxArgsBytes) {
      throw new HttpError(400, `the task is larger than the ${maxArgsBytes} bytes the ${dialect} database can store`);
    }
    try {
      const created = await storage.schedules.create(
        {
          name,
          cron: ticks.expression,
          timeZone: ticks.timeZone,
          workerId: undefined,
          workerName: this.worker.name,
          args,
          priority: Priority.PRIORITY_MEDIUM,
          uniqKey: undefined,
          timeout: 0,
          missedTick: 'skip',
          overlap: 'allow',
          origin: 'api',
        },
        next,
      );
      this.options.logger.info({ scheduleId: created.id, cron: created.cron }, 'poussetaches cron task registered');
      this.options.onScheduleChanged?.();
      return String(created.id);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // registered at the same time by another call
      const raced = await storage.schedules.findByName(name);
      if (raced === undefined) throw err;
      return String(raced.id);
    }
  }

  private async status(): Promise<{ paused: boolean; in_flight: number }> {
    const paused = await this.options.storage.switches.isOn(this.switchName);
    let inFlight = 0;
    for (const job of await this.jobs()) {
      if ((await this.options.lifecycle.status(job.id)) === JobStatus.RUNNING) inFlight++;
    }
    return { paused, in_flight: inFlight };
  }

  /** The push worker's job rows, at most listLimit, scanning a bounded part of the job table. */
  private async jobs(): Promise<Job[]> {
    const { storage, listLimit } = this.options;
    const found: Job[] = [];
    for (let offset = 0; found.length < listLimit && offset < maxScanned(listLimit); offset += SCAN_PAGE) {
      const page = await storage.jobs.list({ limit: SCAN_PAGE, offset });
      for (const job of page) if (job.workerId === this.worker.id && found.length < listLimit) found.push(job);
      if (page.length < SCAN_PAGE) break;
    }
    return found;
  }

  private async waiting(): Promise<Task[]> {
    const tasks: Task[] = [];
    for (const job of await this.jobs()) {
      const push = pushOf(job.args);
      if (push === undefined) continue;
      const last = job.retried > 0 ? await this.options.storage.results.findLatestByJobId(job.id) : undefined;
      tasks.push(waitingTask(job, push, last));
    }
    return byNextRun(tasks);
  }

  /** The newest successful results of the push worker, from a bounded scan of the newest results. */
  private async success(): Promise<Task[]> {
    const { storage, listLimit } = this.options;
    const total = await storage.results.count();
    const tasks: Task[] = [];
    const floor = Math.max(0, total - maxScanned(listLimit));
    for (let end = total; end > floor && tasks.length < listLimit; end -= SCAN_PAGE) {
      const offset = Math.max(floor, end - SCAN_PAGE);
      const page = await storage.results.list({ limit: end - offset, offset });
      for (const result of page.reverse()) {
        if (result.workerId !== this.worker.id || result.status !== ResultStatus.SUCCESS) continue;
        const push = pushOf(result.args);
        if (push !== undefined && tasks.length < listLimit) tasks.push(successTask(result, push));
      }
    }
    return byNextRun(tasks);
  }

  private async dead(): Promise<Task[]> {
    const letters = await this.options.lifecycle.deadLetters.list({
      workerId: this.worker.id,
      limit: this.options.listLimit,
      offset: 0,
    });
    return byNextRun(
      letters.flatMap((letter) => {
        const push = pushOf(letter.args);
        return push === undefined ? [] : [deadTask(letter, push)];
      }),
    );
  }

  private async cron(): Promise<Task[]> {
    const schedules: Schedule[] = (await this.options.storage.schedules.listByOrigin('api')).filter(
      (s) => s.workerName === this.worker.name,
    );
    return byNextRun(
      schedules.slice(0, this.options.listLimit).flatMap((schedule) => {
        const push = pushOf(schedule.args);
        return push === undefined ? [] : [cronTask(schedule, push)];
      }),
    );
  }
}

/** The methods of each path. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/': ['GET', 'POST'],
  '/pause': ['POST'],
  '/resume': ['POST'],
  '/waiting': ['GET'],
  '/success': ['GET'],
  '/dead': ['GET'],
  '/cron': ['GET'],
};

/** Rows a list scans at most to find its tasks. */
const maxScanned = (listLimit: number): number => Math.max(10_000, listLimit * 10);

const byNextRun = (tasks: Task[]): Task[] => tasks.sort((a, b) => a.next_run - b.next_run);

interface PushRequest extends Push {
  readonly schedule: string | undefined;
  readonly delayMinutes: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The body of POST /, checked field by field; HttpError 400 naming the field and what to send. */
export function parsePushRequest(body: unknown): PushRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the body must be a JSON object: {"url": ..., "payload": base64, "expected"?, ...}');
  }
  const fields = body as Record<string, unknown>;
  const { url, payload, expected, schedule, delay } = fields;
  if (url === undefined || url === null) throw bad('url is required: the http(s) URL the task is POSTed to');
  if (typeof url !== 'string') throw bad(`url must be a string, not ${typeOf(url)}`);
  if (url.length > MAX_URL_CHARS) throw bad(`url must be at most ${MAX_URL_CHARS} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(`url ${quote(clip(url, 100))} is not an absolute URL (e.g. https://app.example.com/task)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw bad(`url must use http or https, not ${quote(parsed.protocol)}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw bad('url must not contain credentials; the receiver checks the Poussetaches-Auth-Key header instead');
  }
  if (payload === undefined || payload === null) throw bad('payload is required: the task data, base64-encoded');
  if (typeof payload !== 'string') throw bad(`payload must be a base64 string, not ${typeOf(payload)}`);
  if (!BASE64.test(payload)) throw bad('payload is not valid base64 (standard alphabet, with = padding)');
  let expectedStatus = 200;
  if (expected !== undefined && expected !== null) {
    if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 100 || expected > 599) {
      throw bad(`expected must be an HTTP status code from 100 to 599, not ${clip(JSON.stringify(expected), 40)}`);
    }
    expectedStatus = expected;
  }
  let cron: string | undefined;
  if (schedule !== undefined && schedule !== null && schedule !== '') {
    if (typeof schedule !== 'string') throw bad(`schedule must be a cron spec string, not ${typeOf(schedule)}`);
    try {
      parseCron(cronOf(schedule));
    } catch (err) {
      const reason = err instanceof InvalidArgumentError ? err.message : String(err);
      throw bad(`schedule is not a valid cron spec: ${reason}`);
    }
    cron = schedule;
  }
  let delayMinutes = 0;
  if (delay !== undefined && delay !== null) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_MINUTES) {
      throw bad(
        `delay must be a number of minutes from 0 to ${MAX_DELAY_MINUTES}, not ${clip(JSON.stringify(delay), 40)}`,
      );
    }
    delayMinutes = delay;
  }
  return {
    url: parsed.href,
    payload: Buffer.from(payload, 'base64'),
    expected: expectedStatus,
    schedule: cron,
    delayMinutes,
  };
}

/**
 * A poussetaches schedule as one of our cron expressions: robfig/cron v1 read 5 fields as `sec min hour day month`
 * (no weekday), so a weekday field of `*` is added; 6 fields are `sec min hour day month weekday` for both.
 */
export function cronOf(schedule: string): string {
  const text = schedule.trim();
  if (text.startsWith('@every')) {
    throw new InvalidArgumentError(
      '@every is not supported; write the interval as a cron spec (e.g. "*/30 * * * * *")',
    );
  }
  const fields = text.split(/\s+/);
  return fields.length === 5 && !text.startsWith('@') ? `${text} *` : text;
}

const bad = (message: string): HttpError => new HttpError(400, message);

const typeOf = (value: unknown): string =>
  Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
