#!/usr/bin/env node
/** `npm run migrate`: applies pending migrations to the configured database and seeds the built-in runners. */
import { loadConfig } from '../../libs/config/src/index.js';
import { openConfiguredStorage } from '../common/storage-from-config.js';

try {
  const config = loadConfig();
  const storage = await openConfiguredStorage(config);
  await storage.close();
  const where =
    config.storageType === 'Standalone'
      ? config.storage.sqlitePath
      : `${config.storage.mysql.host}:${config.storage.mysql.port}/${config.storage.mysql.database}`;
  process.stdout.write(`migrations applied (${config.storageType}: ${where})\n`);
} catch (err) {
  process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
