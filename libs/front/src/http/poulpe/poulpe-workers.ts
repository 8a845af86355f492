/**
 * The workers the poulpe API runs its tasks on, and the job args of each task. A task is mapped onto a built-in
 * runner and a worker the API owns (created at start when absent, brought back to the configured definition when it
 * differs):
 * - GET/POST → HTTP_REQUEST, one worker per allowed origin (`<prefix>-http:<origin>`, base_url = the origin);
 * - EXEC → COMMAND, one worker per allowed executable (`<prefix>-exec:<name>`), argv = params split on whitespace;
 * - MAIL_TO → MAIL, one worker (`<prefix>-mail`) with the configured SMTP server.
 * With POULPE_CC_CHANNEL set, each has a twin `<name>:cc` on that channel for tasks with a non-empty `cc`.
 * Every worker is LISTEN_AFTER (results stored and kept for late readers), WITH_BACKUP (a job row exists while the
 * task is unfinished, so its id finds it), with POULPE_MAX_RETRY constant retries POULPE_RETRY_INTERVAL_MS apart.
 *
 * What the API may do is only what the configuration allows: a URL of another origin, an executable not listed, a
 * sender not allowed, or a method whose setting is empty answers 403 naming the setting.
 */
import type { PoulpeConfig } from '../../../../config/src/index.js';
import type { Logger, Worker, WorkerSpec } from '../../../../core/src/index.js';
import {
  AlreadyExistsError,
  InternalError,
  InvalidArgumentError,
  quote,
  QueueType,
  ResponseType,
  RetryType,
  validateWorker,
} from '../../../../core/src/index.js';
import {
  CommandArgs,
  CommandRunnerSettings,
  HttpRequestArgs,
  HttpRequestRunnerSettings,
  MailArgs,
  MailRunnerSettings,
} from '../../../../proto/src/index.js';
import {
  BUILTIN_SETTINGS_CHECKS,
  COMMAND_RUNNER_ID,
  HTTP_REQUEST_RUNNER_ID,
  MAIL_RUNNER_ID,
} from '../../../../runners/src/index.js';
import type { Storage } from '../../../../storage/src/index.js';
import { HttpError } from '../http-listener.js';
import type { PoulpeTask } from './task.js';
import { parseMail } from './task.js';

export type PoulpeWorkerKind = 'http' | 'exec' | 'mail';

/** What a task becomes: the worker to run it and the job args. */
export interface PoulpeTarget {
  readonly worker: Worker;
  readonly kind: PoulpeWorkerKind;
  readonly args: Uint8Array;
}

export interface PoulpeWorkersDeps {
  readonly config: PoulpeConfig;
  readonly storage: Pick<Storage, 'workers' | 'runners'>;
  /** JOB_QUEUE_FETCH_INTERVAL (worker rules) */
  readonly fetchIntervalMs: number;
  readonly logger: Logger;
  /** told after a worker was changed back to its configured definition */
  readonly onWorkerChanged?: ((workerId: number) => void) | undefined;
}

interface Definition {
  readonly kind: PoulpeWorkerKind;
  readonly spec: WorkerSpec;
}

/** The setting each kind of worker comes from. */
const SETTING_OF: Readonly<Record<PoulpeWorkerKind, string>> = {
  http: 'POULPE_HTTP_ORIGINS',
  exec: 'POULPE_EXEC_ALLOWLIST',
  mail: 'POULPE_SMTP_*',
};

const forbidden = (message: string): HttpError => new HttpError(403, message);

export class PoulpeWorkers {
  private readonly definitions = new Map<string, Definition>();
  private readonly workers = new Map<string, Worker>();
  private readonly kinds = new Map<number, PoulpeWorkerKind>();

  constructor(private readonly deps: PoulpeWorkersDeps) {
    const { config } = deps;
    for (const origin of config.httpOrigins) {
      this.define(
        `${config.workerPrefix}-http:${origin}`,
        'http',
        HTTP_REQUEST_RUNNER_ID,
        HttpRequestRunnerSettings.encode(HttpRequestRunnerSettings.fromPartial({ baseUrl: `${origin}/` })).finish(),
      );
    }
    for (const name of config.execAllowlist) {
      this.define(
        `${config.workerPrefix}-exec:${name}`,
        'exec',
        COMMAND_RUNNER_ID,
        CommandRunnerSettings.encode({ name }).finish(),
      );
    }
    if (config.smtp !== undefined) {
      const s = config.smtp;
      const settings = MailRunnerSettings.encode({
        host: s.host,
        port: s.port,
        username: s.username,
        password: s.password,
        starttls: s.starttls,
        secure: s.secure,
        defaultFrom: config.mailFrom,
      }).finish();
      this.define(`${config.workerPrefix}-mail`, 'mail', MAIL_RUNNER_ID, settings);
    }
  }

  /** Creates the workers that are missing and changes back those that differ from the configuration. */
  async ensureAll(): Promise<void> {
    for (const [name, definition] of this.definitions) {
      const worker = await this.ensure(name, definition.spec).catch((err: unknown) => {
        // a setting made a worker that cannot be (a name too long, say): say which
        if (!(err instanceof InvalidArgumentError)) throw err;
        throw new InvalidArgumentError(
          `the poulpe API cannot create its worker ${quote(name)} (from ${SETTING_OF[definition.kind]}): ${err.message}`,
        );
      });
      this.workers.set(name, worker);
      this.kinds.set(worker.id, definition.kind);
    }
  }

  /** The kind of a worker of the API, by id; undefined for other workers. */
  kindOf(workerId: number): PoulpeWorkerKind | undefined {
    return this.kinds.get(workerId);
  }

  /** The ids of the API's workers. */
  workerIds(): ReadonlySet<number> {
    return new Set(this.kinds.keys());
  }

  /** The worker and args of a task; 400/403 with a message when the task cannot or may not run. */
  target(task: PoulpeTask): PoulpeTarget {
    const { config } = this.deps;
    const suffix = task.cc.length > 0 && config.ccChannel !== undefined ? ':cc' : '';
    switch (task.method) {
      case 'GET':
      case 'POST': {
        const url = taskUrl(task);
        if (!config.httpOrigins.includes(url.origin)) {
          throw forbidden(
            config.httpOrigins.length === 0
              ? `${task.method} tasks are off: POULPE_HTTP_ORIGINS names the origins they may call`
              : `${task.method} to ${url.origin} is not allowed: add the origin to POULPE_HTTP_ORIGINS`,
          );
        }
        const args = HttpRequestArgs.encode({
          method: task.method,
          path: `${url.pathname}${url.search}`,
          headers: task.method === 'POST' ? [{ key: 'content-type', value: 'application/json' }] : [],
          body: task.method === 'POST' ? task.params : undefined,
          queries: [],
        }).finish();
        return { worker: this.worker(`${config.workerPrefix}-http:${url.origin}${suffix}`), kind: 'http', args };
      }
      case 'EXEC': {
        if (!config.execAllowlist.includes(task.name)) {
          throw forbidden(
            config.execAllowlist.length === 0
              ? 'EXEC tasks are off: POULPE_EXEC_ALLOWLIST names the executables they may run'
              : `EXEC of ${quote(task.name, 200)} is not allowed: add it to POULPE_EXEC_ALLOWLIST`,
          );
        }
        const args = CommandArgs.encode({ args: task.params.split(/\s+/).filter((a) => a !== '') }).finish();
        return { worker: this.worker(`${config.workerPrefix}-exec:${task.name}${suffix}`), kind: 'exec', args };
      }
      case 'MAIL_TO': {
        if (config.smtp === undefined) {
          throw forbidden('MAIL_TO tasks are off: set POULPE_SMTP_HOST (and POULPE_MAIL_FROM) to send mail');
        }
        const mail = parseMail(task.params);
        const from = mail.from ?? config.mailFrom;
        if (from === undefined) {
          throw new HttpError(400, 'MAIL_TO needs "from_addr" in params: POULPE_MAIL_FROM sets no default sender');
        }
        if (from !== config.mailFrom && !config.mailFromAllowlist.includes(from)) {
          throw forbidden(
            `MAIL_TO from ${quote(from, 200)} is not allowed: leave from_addr empty to send as POULPE_MAIL_FROM, ` +
              'or add the address to POULPE_MAIL_FROM_ALLOWLIST',
          );
        }
        const args = MailArgs.encode({
          from,
          to: [...mail.to],
          cc: [],
          bcc: [],
          subject: mail.title,
          text: mail.body,
        }).finish();
        return { worker: this.worker(`${config.workerPrefix}-mail${suffix}`), kind: 'mail', args };
      }
    }
  }

  private worker(name: string): Worker {
    const worker = this.workers.get(name);
    // every name target() builds is defined, and ensureAll ran before the API took tasks
    if (worker === undefined) throw new InternalError(`the poulpe worker ${quote(name)} was not created`);
    return worker;
  }

  private define(name: string, kind: PoulpeWorkerKind, runnerId: number, runnerSettings: Uint8Array): void {
    const { config } = this.deps;
    const spec = (channel: string | undefined, suffix: string): WorkerSpec => ({
      name: `${name}${suffix}`,
      runnerId,
      runnerSettings,
      retryPolicy: {
        type: config.maxRetry === 0 ? RetryType.NONE : RetryType.CONSTANT,
        interval: config.retryIntervalMs,
        maxInterval: 0,
        maxRetry: config.maxRetry,
        basis: 2,
      },
      periodicInterval: 0,
      channel,
      queueType: QueueType.WITH_BACKUP,
      responseType: ResponseType.LISTEN_AFTER,
      storeSuccess: true,
      storeFailure: true,
      nextWorkers: [],
      useStatic: false,
    });
    this.definitions.set(name, { kind, spec: spec(config.channel, '') });
    if (config.ccChannel !== undefined)
      this.definitions.set(`${name}:cc`, { kind, spec: spec(config.ccChannel, ':cc') });
  }

  private async ensure(name: string, spec: WorkerSpec): Promise<Worker> {
    const { storage, logger } = this.deps;
    const runner = await storage.runners.find(spec.runnerId);
    if (runner === undefined) throw new InternalError(`built-in runner ${spec.runnerId} is missing from the database`);
    validateWorker(spec, runner, { fetchIntervalMs: this.deps.fetchIntervalMs });
    BUILTIN_SETTINGS_CHECKS.get(runner.type)?.(spec.runnerSettings);
    const existing = await storage.workers.findByName(name);
    if (existing === undefined) {
      try {
        const created = await storage.workers.create(spec);
        logger.info({ worker: name, workerId: created.id }, 'created a worker of the poulpe API');
        return created;
      } catch (err) {
        // another front created it at the same moment
        if (!(err instanceof AlreadyExistsError)) throw err;
        const raced = await storage.workers.findByName(name);
        if (raced === undefined) throw err;
        return raced;
      }
    }
    if (sameDefinition(existing, spec)) return existing;
    await storage.workers.update(existing.id, spec);
    logger.info(
      { worker: name, workerId: existing.id },
      'changed a worker of the poulpe API back to its configuration',
    );
    this.deps.onWorkerChanged?.(existing.id);
    return { ...spec, id: existing.id };
  }
}

/** The URL a GET or POST task calls: `name`, and for GET `?params` (poulpe's `name?params`). */
function taskUrl(task: PoulpeTask): URL {
  const query =
    task.method === 'GET' && task.params !== '' ? `${task.name.includes('?') ? '&' : '?'}${task.params}` : '';
  let url: URL;
  try {
    url = new URL(`${task.name}${query}`);
  } catch {
    throw new HttpError(
      400,
      `"name" ${quote(task.name, 200)} is not a URL; ${task.method} tasks need http(s)://host/path`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpError(400, `"name" must be an http or https URL, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new HttpError(400, '"name" must not hold credentials (user:password@); the task is stored and listed');
  }
  return url;
}

function sameDefinition(worker: Worker, spec: WorkerSpec): boolean {
  const p = worker.retryPolicy;
  const q = spec.retryPolicy;
  return (
    worker.runnerId === spec.runnerId &&
    Buffer.from(worker.runnerSettings).equals(Buffer.from(spec.runnerSettings)) &&
    p.type === q.type &&
    p.interval === q.interval &&
    p.maxInterval === q.maxInterval &&
    p.maxRetry === q.maxRetry &&
    worker.periodicInterval === spec.periodicInterval &&
    (worker.channel ?? '') === (spec.channel ?? '') &&
    worker.queueType === spec.queueType &&
    worker.responseType === spec.responseType &&
    worker.storeSuccess === spec.storeSuccess &&
    worker.storeFailure === spec.storeFailure &&
    worker.nextWorkers.length === 0 &&
    worker.useStatic === spec.useStatic
  );
}
