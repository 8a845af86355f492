import type { Config } from '../../libs/config/src/index.js';
import type { DbErrorKind, Storage } from '../../libs/storage/src/index.js';
import { openStorage } from '../../libs/storage/src/index.js';
import { BUILTIN_RUNNERS } from '../../libs/runners/src/index.js';

/**
 * Opens the RDB of the configured mode (SQLite for Standalone, MySQL for Scalable), migrates it and seeds runners.
 * `onError` hears of every driver error (the process's metrics).
 */
export async function openConfiguredStorage(config: Config, onError?: (kind: DbErrorKind) => void): Promise<Storage> {
  const secrets = {
    secretsKeyHex: config.storage.secretsKeyHex,
    previousSecretsKeysHex: config.storage.previousSecretsKeysHex,
    onError,
  };
  const storage =
    config.storageType === 'Standalone'
      ? await openStorage({ kind: 'sqlite', path: config.storage.sqlitePath, ...secrets })
      : await openStorage({ kind: 'mysql', ...config.storage.mysql, ...secrets });
  try {
    await storage.migrate();
    await storage.runners.upsertWithIds(BUILTIN_RUNNERS);
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}
