import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../config/src/index.js';
import type { PoulpeConfig } from '../../../../config/src/index.js';
import { QueueType, ResponseType, RetryType } from '../../../../core/src/index.js';
import { CommandArgs, HttpRequestArgs, MailArgs, MailRunnerSettings } from '../../../../proto/src/index.js';
import { BUILTIN_RUNNERS } from '../../../../runners/src/index.js';
import type { Storage } from '../../../../storage/src/index.js';
import { openStorage } from '../../../../storage/src/index.js';
import { HttpError } from '../http-listener.js';
import { PoulpeWorkers } from './poulpe-workers.js';
import { parseTask } from './task.js';

const logger = pino({ level: 'silent' });
let dir: string;
let storage: Storage;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jw-poulpe-'));
  storage = await openStorage({ kind: 'sqlite', path: join(dir, 'jobworkerp.sqlite3') });
  await storage.migrate();
  await storage.runners.upsertWithIds(BUILTIN_RUNNERS);
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function poulpeConfig(env: Record<string, string>): PoulpeConfig {
  const config = loadConfig({ env: { POULPE_HTTP_ADDR: '127.0.0.1:0', ...env }, envFile: false }).poulpe;
  if (config === undefined) throw new Error('the poulpe API is off');
  return config;
}

async function workersFor(env: Record<string, string>): Promise<PoulpeWorkers> {
  const workers = new PoulpeWorkers({ config: poulpeConfig(env), storage, fetchIntervalMs: 1000, logger });
  await workers.ensureAll();
  return workers;
}

const task = (over: Record<string, unknown>) =>
  parseTask({ id: 't', method: 'EXEC', delay: 0, name: '/bin/echo', params: '', cc: '', ...over }, 60);

function refusal(run: () => unknown): { status: number; message: string } {
  try {
    run();
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('the task was accepted');
}

describe('PoulpeWorkers', () => {
  it('creates one LISTEN_AFTER, WITH_BACKUP worker per origin, executable and SMTP server, with poulpe-like retries', async () => {
    await workersFor({
      POULPE_HTTP_ORIGINS: 'http://127.0.0.1:8080',
      POULPE_EXEC_ALLOWLIST: '/bin/echo',
      POULPE_SMTP_HOST: 'smtp.example',
      POULPE_MAIL_FROM: 'robot@example.com',
    });
    const names = (await storage.workers.list()).map((w) => w.name).sort();
    expect(names).toEqual(['poulpe-exec:/bin/echo', 'poulpe-http:http://127.0.0.1:8080', 'poulpe-mail']);
    const mail = await storage.workers.findByName('poulpe-mail');
    expect(mail).toMatchObject({
      queueType: QueueType.WITH_BACKUP,
      responseType: ResponseType.LISTEN_AFTER,
      storeSuccess: true,
      storeFailure: true,
      retryPolicy: { type: RetryType.CONSTANT, maxRetry: 3, interval: 10_000 },
    });
    expect(MailRunnerSettings.decode(mail!.runnerSettings)).toMatchObject({
      host: 'smtp.example',
      defaultFrom: 'robot@example.com',
    });
  });

  it('maps each method onto its worker and args', async () => {
    const workers = await workersFor({
      POULPE_HTTP_ORIGINS: 'http://127.0.0.1:8080',
      POULPE_EXEC_ALLOWLIST: '/bin/echo',
      POULPE_SMTP_HOST: 'smtp.example',
      POULPE_MAIL_FROM: 'robot@example.com',
      POULPE_MAIL_FROM_ALLOWLIST: 'alerts@example.com',
    });
    const get = workers.target(task({ method: 'GET', name: 'http://127.0.0.1:8080/a?x=1', params: 'y=2' }));
    expect(get.worker.name).toBe('poulpe-http:http://127.0.0.1:8080');
    expect(HttpRequestArgs.decode(get.args)).toMatchObject({ method: 'GET', path: '/a?x=1&y=2', body: undefined });
    const post = workers.target(task({ method: 'POST', name: 'http://127.0.0.1:8080/hook', params: '{"a":1}' }));
    expect(HttpRequestArgs.decode(post.args)).toMatchObject({ method: 'POST', path: '/hook', body: '{"a":1}' });
    const exec = workers.target(task({ params: '  a  b\tc ' }));
    expect(exec.worker.name).toBe('poulpe-exec:/bin/echo');
    expect(CommandArgs.decode(exec.args).args).toEqual(['a', 'b', 'c']);
    const mail = workers.target(
      task({
        method: 'MAIL_TO',
        params: JSON.stringify({ from_addr: 'alerts@example.com', to_addr: 'x@y.example', title: 'T' }),
      }),
    );
    expect(MailArgs.decode(mail.args)).toMatchObject({ from: 'alerts@example.com', to: ['x@y.example'], subject: 'T' });
    const byDefault = workers.target(task({ method: 'MAIL_TO', params: '{"to_addr":"x@y.example"}' }));
    expect(MailArgs.decode(byDefault.args).from).toBe('robot@example.com');
    expect(workers.kindOf(mail.worker.id)).toBe('mail');
    expect(workers.workerIds().size).toBe(3);
  });

  it('refuses with 403 naming the setting what the configuration does not allow', async () => {
    const off = await workersFor({});
    expect(refusal(() => off.target(task({})))).toEqual({
      status: 403,
      message: expect.stringMatching(/EXEC tasks are off: POULPE_EXEC_ALLOWLIST/),
    });
    expect(refusal(() => off.target(task({ method: 'GET', name: 'http://a.example/' }))).message).toMatch(
      /GET tasks are off: POULPE_HTTP_ORIGINS/,
    );
    expect(refusal(() => off.target(task({ method: 'MAIL_TO', params: '{}' }))).message).toMatch(/POULPE_SMTP_HOST/);
    const some = await workersFor({
      POULPE_HTTP_ORIGINS: 'https://api.example',
      POULPE_EXEC_ALLOWLIST: 'date',
      POULPE_SMTP_HOST: 'smtp.example',
    });
    expect(refusal(() => some.target(task({ name: '/bin/date' })))).toMatchObject({ status: 403 });
    // another origin, even one the allowed one would redirect to, or the same host on another port or scheme
    for (const name of ['http://api.example/', 'https://api.example:8443/', 'https://evil.example/']) {
      expect(refusal(() => some.target(task({ method: 'POST', name }))).status).toBe(403);
    }
    expect(refusal(() => some.target(task({ method: 'GET', name: 'https://u:p@api.example/' }))).status).toBe(400);
    expect(refusal(() => some.target(task({ method: 'GET', name: 'file:///etc/passwd' }))).status).toBe(400);
    // no default sender and none given
    expect(refusal(() => some.target(task({ method: 'MAIL_TO', params: '{"to_addr":"a@b.example"}' })))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/POULPE_MAIL_FROM/),
    });
    expect(
      refusal(() =>
        some.target(task({ method: 'MAIL_TO', params: '{"to_addr":"a@b.example","from_addr":"c@d.example"}' })),
      ).status,
    ).toBe(403);
  });

  it('names the setting when it makes a worker that cannot be', async () => {
    const long = `http://${'a'.repeat(120)}.example`;
    await expect(workersFor({ POULPE_HTTP_ORIGINS: long })).rejects.toThrow(
      /cannot create its worker "poulpe-http:http:\/\/a+.*(from POULPE_HTTP_ORIGINS).*128 characters/,
    );
  });

  it('sends tasks with a cc to twin workers on POULPE_CC_CHANNEL', async () => {
    const workers = await workersFor({
      POULPE_EXEC_ALLOWLIST: '/bin/echo',
      POULPE_CC_CHANNEL: 'pinned',
      POULPE_CHANNEL: 'poulpe',
    });
    const plain = workers.target(task({}));
    const pinned = workers.target(task({ cc: '1 2' }));
    expect(plain.worker).toMatchObject({ name: 'poulpe-exec:/bin/echo', channel: 'poulpe' });
    expect(pinned.worker).toMatchObject({ name: 'poulpe-exec:/bin/echo:cc', channel: 'pinned' });
  });

  it('changes a worker back to the configuration, and keeps one that matches', async () => {
    await workersFor({ POULPE_EXEC_ALLOWLIST: '/bin/echo' });
    const first = await storage.workers.findByName('poulpe-exec:/bin/echo');
    await storage.workers.update(first!.id, { ...first!, retryPolicy: { ...first!.retryPolicy, maxRetry: 9 } });
    const changed: number[] = [];
    const again = new PoulpeWorkers({
      config: poulpeConfig({ POULPE_EXEC_ALLOWLIST: '/bin/echo', POULPE_MAX_RETRY: '0' }),
      storage,
      fetchIntervalMs: 1000,
      logger,
      onWorkerChanged: (id) => changed.push(id),
    });
    await again.ensureAll();
    expect(changed).toEqual([first!.id]);
    expect((await storage.workers.findByName('poulpe-exec:/bin/echo'))?.retryPolicy).toMatchObject({
      type: RetryType.NONE,
      maxRetry: 0,
    });
    await again.ensureAll();
    expect(changed).toEqual([first!.id]);
  });
});
