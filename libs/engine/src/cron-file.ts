/**
 * The cron file (CRON_FILE), for users of poulpe's cron file: one schedule per line,
 *
 *     sec min hour day month weekday year  worker-name  args-json
 *
 * e.g. `*\/10 * * * * * *  report  {"args":["daily"]}`. The seven time fields are required (as in poulpe); the args
 * are a JSON value encoded with the args schema of the worker's runner (a JSON string for a runner without a schema
 * is sent as text) and may be left out (no args). Empty lines and lines starting with `#` or `//` are comments. A
 * line `CRON_TZ=<IANA zone>` sets the time zone of the lines after it (UTC before the first); likewise
 * `CRON_MISSED_TICK=skip|run-once` and `CRON_OVERLAP=allow|skip` set the policies of the lines after them (skip and
 * allow before the first).
 *
 * The file's schedules are rows of origin `file`, named `cron-file:<hash of the line>` (a repeated line gets `-2`,
 * `-3`...): a line whose text changes is a new schedule, and moving lines around changes nothing. Syncing inserts the
 * rows of new lines and deletes the rows of lines that are gone; schedules of origin `api` are never touched. A bad
 * line (a field out of range, a worker that does not exist, args that do not fit the schema) is one error naming its
 * line number, and the other lines still load; a line waiting for its worker is loaded once the worker exists.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, MissedTickPolicy, OverlapPolicy, Runner, ScheduleSpec, Worker } from '../../core/src/index.js';
import {
  AlreadyExistsError,
  checkTimeZone,
  coerceError,
  CRON_FILE_NAME_PREFIX,
  DEFAULT_TIME_ZONE,
  encodeFromObject,
  InvalidArgumentError,
  JobworkerpError,
  parseCron,
  Priority,
  quote,
} from '../../core/src/index.js';
import type { ScheduleRepository } from '../../storage/src/index.js';

/** One line that parsed: the schedule it asks for, before its worker is looked up. */
export interface CronFileLine {
  readonly line: number;
  readonly name: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly workerName: string;
  /** undefined: no args */
  readonly args: unknown;
  readonly missedTick: MissedTickPolicy;
  readonly overlap: OverlapPolicy;
}

const MISSED_TICK_VALUES: readonly MissedTickPolicy[] = ['skip', 'run-once'];
const OVERLAP_VALUES: readonly OverlapPolicy[] = ['allow', 'skip'];

function policyValue<T extends string>(directive: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((v) => v === value.toLowerCase());
  if (found === undefined) {
    throw new Error(`${directive} takes ${allowed.map((v) => quote(v)).join(' or ')}, not ${quote(value)}`);
  }
  return found;
}

export interface CronFileError {
  readonly line: number;
  readonly message: string;
  /** the line is fine, its worker does not exist yet: it is tried again at each sync */
  readonly waitingForWorker?: boolean;
}

/** Parses the text of a cron file; every bad line is one error, the others are returned. */
export function parseCronFile(text: string): { lines: CronFileLine[]; errors: CronFileError[] } {
  const lines: CronFileLine[] = [];
  const errors: CronFileError[] = [];
  const seen = new Map<string, number>();
  let timeZone = DEFAULT_TIME_ZONE;
  let missedTick: MissedTickPolicy = 'skip';
  let overlap: OverlapPolicy = 'allow';
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#') || content.startsWith('//')) return;
    try {
      const tz = /^CRON_TZ\s*=\s*(\S+)$/.exec(content);
      if (tz !== null) {
        timeZone = checkTimeZone(tz[1]!);
        return;
      }
      const policy = /^(CRON_MISSED_TICK|CRON_OVERLAP)\s*=\s*(\S*)$/.exec(content);
      if (policy !== null) {
        const [, directive = '', value = ''] = policy;
        if (directive === 'CRON_MISSED_TICK') missedTick = policyValue(directive, value, MISSED_TICK_VALUES);
        else overlap = policyValue(directive, value, OVERLAP_VALUES);
        return;
      }
      const fields = content.split(/\s+/);
      if (fields.length < 8) {
        const hint = fields.length === 7 ? ' (is the year missing? put * for every year)' : '';
        throw new Error(
          `expected "sec min hour day month weekday year worker-name [args-json]", found ${fields.length} fields${hint}`,
        );
      }
      const cron = parseCron(fields.slice(0, 7).join(' '), timeZone).expression;
      const workerName = fields[7]!;
      // the args are the rest of the line as written (JSON may hold spaces)
      const argsText = content.replace(/^(\S+\s+){8}/, '').trim();
      const rest = fields.length > 8 ? argsText : '';
      let args: unknown;
      if (rest !== '') {
        try {
          args = JSON.parse(rest);
        } catch (err) {
          throw new Error(`the args are not valid JSON: ${(err as Error).message}`);
        }
      }
      // the policies count only when not the defaults, so lines written before they existed keep their names
      const policies = missedTick === 'skip' && overlap === 'allow' ? '' : `\u0000${missedTick}\u0000${overlap}`;
      const key = `${cron}\u0000${timeZone}\u0000${workerName}\u0000${JSON.stringify(args ?? null)}${policies}`;
      const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
      const count = (seen.get(hash) ?? 0) + 1;
      seen.set(hash, count);
      const name = `${CRON_FILE_NAME_PREFIX}${hash}${count > 1 ? `-${count}` : ''}`;
      lines.push({ line, name, cron, timeZone, workerName, args, missedTick, overlap });
    } catch (err) {
      errors.push({ line, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return { lines, errors };
}

export interface CronFileSyncDeps {
  readonly schedules: Pick<ScheduleRepository, 'listByOrigin' | 'create' | 'delete'>;
  readonly findWorkerByName: (name: string) => Promise<Worker | undefined>;
  readonly findRunner: (id: number) => Promise<Runner | undefined>;
  readonly now?: () => number;
}

export interface CronFileReport {
  readonly added: number;
  readonly removed: number;
  /** lines whose schedule was there already */
  readonly kept: number;
  readonly errors: readonly CronFileError[];
}

/** Makes the file's schedules in the RDB match the text: inserts new lines, deletes lines that are gone. */
export async function syncCronFile(text: string, deps: CronFileSyncDeps): Promise<CronFileReport> {
  const now = deps.now ?? Date.now;
  const parsed = parseCronFile(text);
  const errors: CronFileError[] = [...parsed.errors];
  const existing = new Map((await deps.schedules.listByOrigin('file')).map((s) => [s.name, s]));
  const wanted = new Set<string>();
  let added = 0;
  let kept = 0;
  for (const line of parsed.lines) {
    wanted.add(line.name);
    if (existing.has(line.name)) {
      kept++;
      continue;
    }
    try {
      const next = parseCron(line.cron, line.timeZone).nextAfter(now());
      if (next === undefined) throw new InvalidArgumentError(`${quote(line.cron)} names no time after now`);
      await deps.schedules.create(await specOf(line, deps), next);
      added++;
    } catch (err) {
      if (err instanceof AlreadyExistsError) {
        // another process syncing the same file inserted it first
        kept++;
      } else if (err instanceof WaitingForWorker) {
        errors.push({ line: line.line, message: err.message, waitingForWorker: true });
      } else if (err instanceof JobworkerpError && err.kind === 'invalid-argument') {
        errors.push({ line: line.line, message: err.message });
      } else {
        throw err;
      }
    }
  }
  let removed = 0;
  for (const [name, schedule] of existing) {
    if (!wanted.has(name) && (await deps.schedules.delete(schedule.id))) removed++;
  }
  errors.sort((a, b) => a.line - b.line);
  return { added, removed, kept, errors };
}

class WaitingForWorker extends Error {}

async function specOf(line: CronFileLine, deps: CronFileSyncDeps): Promise<ScheduleSpec> {
  const worker = await deps.findWorkerByName(line.workerName);
  if (worker === undefined) {
    throw new WaitingForWorker(
      `worker ${quote(line.workerName)} does not exist; the line is loaded once a worker of that name is created`,
    );
  }
  if (worker.periodicInterval > 0) {
    throw new InvalidArgumentError(
      `worker ${quote(line.workerName)} is periodic (periodic_interval); a schedule needs a worker without it`,
    );
  }
  const runner = await deps.findRunner(worker.runnerId);
  const schema = runner?.argsProto ?? '';
  const args =
    line.args === undefined
      ? new Uint8Array()
      : encodeFromObject(schema, line.args, `args for worker ${quote(line.workerName)}`);
  return {
    name: line.name,
    cron: line.cron,
    timeZone: line.timeZone,
    workerId: undefined,
    workerName: line.workerName,
    args,
    priority: Priority.PRIORITY_MEDIUM,
    uniqKey: undefined,
    timeout: 0,
    missedTick: line.missedTick,
    overlap: line.overlap,
    origin: 'file',
  };
}

export interface CronFileWatcherOptions {
  readonly path: string;
  /**
   * How often the file is looked at for changes (and lines waiting for their worker are tried again).
   * @default 2000
   */
  readonly pollMs?: number;
}

/**
 * Keeps the RDB in sync with a cron file: load() at start, then start() looks at the file every pollMs and syncs
 * when its content changed (or some line waits for its worker). Errors of a content are logged once.
 * Lifecycle: load() once at start, then start(); stop() ends the polling and is idempotent.
 */
export class CronFileWatcher {
  private lastText: string | undefined;
  private waiting = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly options: CronFileWatcherOptions,
    private readonly deps: CronFileSyncDeps & { readonly logger: Logger; readonly onChanged?: () => void },
  ) {}

  /** Reads and syncs the file; throws when it cannot be read (a wrong CRON_FILE should stop the start). */
  async load(): Promise<CronFileReport> {
    let text: string;
    try {
      text = await readFile(this.options.path, 'utf8');
    } catch (err) {
      throw new Error(`CRON_FILE ${this.options.path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    return this.sync(text);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const pollMs = this.options.pollMs ?? 2000;
    let unreadable = false;
    while (!signal.aborted) {
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      try {
        const text = await readFile(this.options.path, 'utf8');
        unreadable = false;
        if (text !== this.lastText || this.waiting) await this.sync(text);
      } catch (err) {
        // a file being replaced may be missing for a moment: keep the schedules, say so once
        if (!unreadable) {
          this.deps.logger.error(
            { err: coerceError(err), file: this.options.path },
            `cron file ${this.options.path} cannot be read or synced; its schedules stay as they are`,
          );
        }
        unreadable = true;
      }
    }
  }

  private async sync(text: string): Promise<CronFileReport> {
    const { logger } = this.deps;
    const fresh = text !== this.lastText;
    const report = await syncCronFile(text, this.deps);
    this.lastText = text;
    this.waiting = report.errors.some((e) => e.waitingForWorker === true);
    if (fresh) {
      for (const e of report.errors) {
        logger.error(
          { file: this.options.path, line: e.line },
          `cron file ${this.options.path} line ${e.line}: ${e.message}`,
        );
      }
    }
    if (fresh || report.added > 0 || report.removed > 0) {
      logger.info(
        {
          file: this.options.path,
          added: report.added,
          removed: report.removed,
          kept: report.kept,
          errors: report.errors.length,
        },
        `cron file ${this.options.path} synced: ${report.added} added, ${report.removed} removed, ${report.kept} kept, ${report.errors.length} bad lines`,
      );
    }
    if (report.added > 0 || report.removed > 0) this.deps.onChanged?.();
    return report;
  }
}
