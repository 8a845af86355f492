/** Runner settings encrypted at rest (SECRETS_KEY), through the worker repository of a real SQLite file. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workerData } from '../../../test/support/worker-data.js';
import type { WorkerSpec } from '../../core/src/index.js';
import { InternalError, workerSpecFromProto } from '../../core/src/index.js';
import { MailRunnerSettings } from '../../proto/src/index.js';
import type { Storage } from './ports.js';
import { SettingsCipher } from './settings-cipher.js';
import { openSqliteStorage } from './sqlite-storage.js';

const PASSWORD = 'smtp-pa55word-at-rest';
const KEY = randomBytes(32).toString('hex');
const OTHER_KEY = randomBytes(32).toString('hex');

const settings = MailRunnerSettings.encode({
  host: 'smtp.example.com',
  port: 587,
  username: 'mailer',
  password: PASSWORD,
  starttls: true,
  secure: false,
  defaultFrom: 'jobs@example.com',
}).finish();

const spec = (name: string): WorkerSpec =>
  workerSpecFromProto(workerData({ name, runnerId: { value: 6 }, runnerSettings: Buffer.from(settings) }));

let dir: string;
let path: string;
const opened: Storage[] = [];

async function open(secretsKeyHex?: string, previousSecretsKeysHex?: string[]): Promise<Storage> {
  const storage = await openSqliteStorage({ path, secretsKeyHex, previousSecretsKeysHex });
  opened.push(storage);
  await storage.migrate();
  return storage;
}

/** The runner_settings column as stored, read around the repository. */
function storedSettings(name: string): Buffer {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const row = db.prepare('SELECT runner_settings FROM worker WHERE name = ?').get(name) as {
      runner_settings: Buffer;
    };
    return row.runner_settings;
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jw-secrets-'));
  path = join(dir, 'db.sqlite3');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('worker settings with SECRETS_KEY', () => {
  it('are stored encrypted and read back exactly by find, findByName and list', async () => {
    const storage = await open(KEY);
    const created = await storage.workers.create(spec('mail'));
    const raw = storedSettings('mail');
    expect(SettingsCipher.isSealed(raw)).toBe(true);
    expect(raw.includes(Buffer.from(PASSWORD))).toBe(false);
    expect(raw.includes(Buffer.from('smtp.example.com'))).toBe(false);
    expect(Buffer.from((await storage.workers.find(created.id))!.runnerSettings)).toEqual(Buffer.from(settings));
    expect(Buffer.from((await storage.workers.findByName('mail'))!.runnerSettings)).toEqual(Buffer.from(settings));
    expect((await storage.workers.list()).map((w) => Buffer.from(w.runnerSettings))).toEqual([Buffer.from(settings)]);
    // the same settings twice are two different ciphertexts (a fresh IV each time)
    await storage.workers.update(created.id, spec('mail'));
    expect(storedSettings('mail').equals(raw)).toBe(false);
  });

  it('still reads rows stored before the key was set, and encrypts them when they are next written', async () => {
    const before = await open();
    const old = await before.workers.create(spec('old'));
    await before.close();
    expect(storedSettings('old').includes(Buffer.from(PASSWORD))).toBe(true);

    const after = await open(KEY);
    expect(Buffer.from((await after.workers.find(old.id))!.runnerSettings)).toEqual(Buffer.from(settings));
    await after.workers.update(old.id, spec('old'));
    expect(SettingsCipher.isSealed(storedSettings('old'))).toBe(true);
    expect(Buffer.from((await after.workers.find(old.id))!.runnerSettings)).toEqual(Buffer.from(settings));
  });

  it('reads rows sealed under a previous key (SECRETS_KEY_PREVIOUS) and seals them under the new key when written', async () => {
    const before = await open(OTHER_KEY);
    const created = await before.workers.create(spec('mail'));
    await before.close();

    const after = await open(KEY, [OTHER_KEY]);
    expect(Buffer.from((await after.workers.find(created.id))!.runnerSettings)).toEqual(Buffer.from(settings));
    await after.workers.update(created.id, spec('mail'));
    await after.close();
    // sealed under KEY now: readable with KEY alone
    const only = await open(KEY);
    expect(Buffer.from((await only.workers.find(created.id))!.runnerSettings)).toEqual(Buffer.from(settings));
  });

  it('refuses to read them with another key or without one, saying what to set and never showing a key', async () => {
    const storage = await open(KEY);
    const created = await storage.workers.create(spec('mail'));
    await storage.close();

    const wrong = await open(OTHER_KEY);
    const error = await wrong.workers.find(created.id).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InternalError);
    expect((error as Error).message).toMatch(/worker \d+ cannot be decrypted with SECRETS_KEY/);
    expect((error as Error).message).not.toContain(KEY);
    expect((error as Error).message).not.toContain(OTHER_KEY);
    await wrong.close();

    const none = await open();
    await expect(none.workers.find(created.id)).rejects.toThrow(/is encrypted; set SECRETS_KEY/);
  });
});
