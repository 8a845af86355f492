/** The cron file: parsing with line-numbered errors, and syncing its lines with the RDB (SQLite). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogFn, Logger, WorkerSpec } from '../../core/src/index.js';
import { CommandArgs } from '../../proto/src/index.js';
import { NO_RETRY, Priority, QueueType, ResponseType, RunnerType } from '../../core/src/index.js';
import type { Storage } from '../../storage/src/index.js';
import { openSqliteStorage } from '../../storage/src/index.js';
import type { CronFileSyncDeps } from './cron-file.js';
import { CronFileWatcher, parseCronFile, syncCronFile } from './cron-file.js';

describe('parseCronFile', () => {
  it('reads 7 time fields, a worker and JSON args per line, skipping comments', () => {
    const { lines, errors } = parseCronFile(
      [
        '# every 2 s',
        '*/2 * * * * * *  echo  {"args": ["a b"]}',
        '',
        '// poulpe README style comment',
        '0 30 9 * * MON-FRI 2026-2030 report',
        'CRON_TZ=Asia/Tokyo',
        '0 0 3 L * * *\tbackup "text"',
      ].join('\n'),
    );
    expect(errors).toEqual([]);
    expect(
      lines.map(({ line, cron, timeZone, workerName, args }) => ({ line, cron, timeZone, workerName, args })),
    ).toEqual([
      { line: 2, cron: '*/2 * * * * * *', timeZone: 'UTC', workerName: 'echo', args: { args: ['a b'] } },
      { line: 5, cron: '0 30 9 * * MON-FRI 2026-2030', timeZone: 'UTC', workerName: 'report', args: undefined },
      { line: 7, cron: '0 0 3 L * * *', timeZone: 'Asia/Tokyo', workerName: 'backup', args: 'text' },
    ]);
    expect(lines[0]!.name).toMatch(/^cron-file:[0-9a-f]{16}$/);
  });

  it('reports each bad line with its number and keeps the others', () => {
    const { lines, errors } = parseCronFile(
      [
        '*/2 * * * * * * ok',
        '*/2 * * * * * echo', // six time fields: the worker name would be the year
        '61 * * * * * * echo',
        '0 0 12 * * * * echo {not json',
        'CRON_TZ=Mars/Olympus',
        '* * * * *',
        '*/2 * * * * * * ok',
      ].join('\n'),
    );
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
    expect(errors[1]!.message).toContain('second');
    expect(errors[2]!.message).toContain('not valid JSON');
    expect(errors[3]!.message).toContain('Mars/Olympus');
    expect(errors[4]!.message).toContain('found 5 fields');
    // a repeated line is a schedule of its own
    expect(lines.map((l) => l.line)).toEqual([1, 7]);
    expect(lines[1]!.name).toBe(`${lines[0]!.name}-2`);
  });

  it('sets the policies of the lines after CRON_MISSED_TICK and CRON_OVERLAP, and refuses other values', () => {
    const line = '0 0 3 * * * * backup';
    const { lines, errors } = parseCronFile(
      [
        line,
        'CRON_MISSED_TICK=run-once',
        line,
        'CRON_OVERLAP = skip',
        line,
        'CRON_MISSED_TICK=skip',
        'CRON_OVERLAP=allow',
        line,
        'CRON_OVERLAP=never',
        'CRON_MISSED_TICK=',
        line,
      ].join('\n'),
    );
    expect(lines.map(({ line: n, missedTick, overlap }) => [n, missedTick, overlap])).toEqual([
      [1, 'skip', 'allow'],
      [3, 'run-once', 'allow'],
      [5, 'run-once', 'skip'],
      [8, 'skip', 'allow'],
      [11, 'skip', 'allow'],
    ]);
    // a line with the default policies keeps the name it had before the directives existed; others differ
    expect(lines[0]!.name).toBe(parseCronFile(line).lines[0]!.name);
    expect(new Set(lines.slice(0, 3).map((l) => l.name.replace(/-\d+$/, ''))).size).toBe(3);
    expect(lines[3]!.name).toBe(`${lines[0]!.name}-2`);
    expect(errors).toEqual([
      { line: 9, message: 'CRON_OVERLAP takes "allow" or "skip", not "never"' },
      { line: 10, message: 'CRON_MISSED_TICK takes "skip" or "run-once", not ""' },
    ]);
  });
});

describe('syncing with the RDB', () => {
  let dir: string;
  let storage: Storage;
  let deps: CronFileSyncDeps;

  const workerSpec = (name: string, over: Partial<WorkerSpec> = {}): WorkerSpec => ({
    name,
    runnerId: 1,
    runnerSettings: new Uint8Array(),
    retryPolicy: NO_RETRY,
    periodicInterval: 0,
    channel: undefined,
    queueType: QueueType.NORMAL,
    responseType: ResponseType.NO_RESULT,
    storeSuccess: false,
    storeFailure: false,
    nextWorkers: [],
    useStatic: false,
    ...over,
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jw-cron-file-'));
    storage = await openSqliteStorage({ path: join(dir, 'db.sqlite3') });
    await storage.migrate();
    await storage.runners.upsertWithIds([
      {
        id: 1,
        name: 'COMMAND',
        type: RunnerType.COMMAND,
        settingsProto: '',
        argsProto: 'message CommandArgs { repeated string args = 1; }',
        resultProto: undefined,
      },
    ]);
    await storage.workers.create(workerSpec('echo'));
    deps = {
      schedules: storage.schedules,
      findWorkerByName: (name) => storage.workers.findByName(name),
      findRunner: (id) => storage.runners.find(id),
    };
  });

  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds new lines, keeps unchanged ones, removes lines that are gone, and never touches API schedules', async () => {
    const api = await storage.schedules.create(
      {
        name: 'mine',
        cron: '* * * * * *',
        timeZone: 'UTC',
        workerId: 1,
        workerName: undefined,
        args: new Uint8Array(),
        priority: Priority.PRIORITY_MEDIUM,
        uniqKey: undefined,
        timeout: 0,
        missedTick: 'skip',
        overlap: 'allow',
        origin: 'api',
      },
      1,
    );
    const first = await syncCronFile('*/2 * * * * * * echo {"args":["one"]}\n0 0 * * * * * echo', deps);
    expect(first).toEqual({ added: 2, removed: 0, kept: 0, errors: [] });
    const files = await storage.schedules.listByOrigin('file');
    expect(files.map((s) => s.workerName)).toEqual(['echo', 'echo']);
    expect(CommandArgs.decode(files[0]!.args).args).toEqual(['one']);
    expect(files[0]!.nextTickTime).toBeGreaterThan(Date.now() - 10);

    // a comment added on top moves the lines: nothing changes; the second line changes: replaced
    const second = await syncCronFile(
      '# moved\n*/2 * * * * * * echo {"args":["one"]}\n0 0 * * * * * echo {"args":[]}',
      deps,
    );
    expect(second).toEqual({ added: 1, removed: 1, kept: 1, errors: [] });
    expect((await storage.schedules.listByOrigin('file'))[0]!.id).toBe(files[0]!.id);

    // a policy set above a line: a schedule of its own, with the policies
    const third = await syncCronFile(
      '# moved\n*/2 * * * * * * echo {"args":["one"]}\nCRON_MISSED_TICK=run-once\nCRON_OVERLAP=skip\n0 0 * * * * * echo',
      deps,
    );
    expect(third).toEqual({ added: 1, removed: 1, kept: 1, errors: [] });
    expect((await storage.schedules.listByOrigin('file')).map((s) => [s.missedTick, s.overlap])).toEqual([
      ['skip', 'allow'],
      ['run-once', 'skip'],
    ]);

    expect(await syncCronFile('', deps)).toEqual({ added: 0, removed: 2, kept: 0, errors: [] });
    expect((await storage.schedules.list()).map((s) => s.id)).toEqual([api.id]);
  });

  it('loads the good lines of a file with a bad one, and a line waiting for its worker once it exists', async () => {
    const text = [
      '*/2 * * * * * * echo {"args":["ok"]}',
      '*/2 * * * * * * echo {"nope":1}',
      '*/2 * * * * * * later',
      '0 0 12 1 1 * 2020 echo',
    ].join('\n');
    const report = await syncCronFile(text, deps);
    expect(report.added).toBe(1);
    expect(report.errors.map((e) => [e.line, e.waitingForWorker ?? false])).toEqual([
      [2, false],
      [3, true],
      [4, false],
    ]);
    expect(report.errors[0]!.message).toContain('args for worker "echo"');
    expect(report.errors[1]!.message).toBe(
      'worker "later" does not exist; the line is loaded once a worker of that name is created',
    );
    expect(report.errors[2]!.message).toContain('names no time after now');
    await storage.workers.create(workerSpec('later'));
    expect(await syncCronFile(text, deps)).toMatchObject({ added: 1, kept: 1 });
  });

  it('logs one error per bad line, naming the file and the line, when the watcher loads the file', async () => {
    const path = join(dir, 'cron.txt');
    writeFileSync(path, '*/2 * * * * * * echo\n*/2 * * * * * echo\n');
    const errors: string[] = [];
    const log: LogFn = (obj: object | string, msg?: string) =>
      void errors.push(typeof obj === 'string' ? obj : (msg ?? ''));
    const logger: Logger = {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: log,
      child: () => logger,
    };
    const watcher = new CronFileWatcher({ path }, { ...deps, logger });
    const report = await watcher.load();
    expect(report.added).toBe(1);
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `^cron file ${path} line 2: expected .*found 7 fields \\(is the year missing\\? put \\* for every year\\)$`,
        ),
      ),
    ]);
    // the watcher sees the file change: a line added, one removed
    let changes = 0;
    const watching = new CronFileWatcher({ path, pollMs: 50 }, { ...deps, logger, onChanged: () => changes++ });
    await watching.load();
    watching.start();
    try {
      writeFileSync(path, '0 0 * * * * * echo\n');
      for (let i = 0; i < 100 && changes === 0; i++) await sleep(20);
      expect(changes).toBe(1);
      expect((await storage.schedules.listByOrigin('file')).map((s) => s.cron)).toEqual(['0 0 * * * * *']);
    } finally {
      await watching.stop();
      await watching.stop();
    }
    await expect(new CronFileWatcher({ path: join(dir, 'missing') }, { ...deps, logger }).load()).rejects.toThrow(
      /CRON_FILE .*missing cannot be read/,
    );
  });
});
