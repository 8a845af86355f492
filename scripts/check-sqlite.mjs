#!/usr/bin/env node
/** Smoke test after an install: better-sqlite3's native addon loads and runs a query (Standalone mode needs it). */
import Database from 'better-sqlite3';

try {
  const db = new Database(':memory:');
  const { version } = db.prepare('SELECT sqlite_version() AS version').get();
  db.close();
  process.stdout.write(`better-sqlite3 works (SQLite ${version})\n`);
} catch (err) {
  process.stderr.write(
    `better-sqlite3 does not load: ${err instanceof Error ? err.message : String(err)}\n` +
      'Its install script builds the native addon; it must be allowed ("allowScripts" in package.json) and a C++ ' +
      'toolchain (make, g++, python3) must be present. Reinstall with `npm rebuild better-sqlite3`.\n',
  );
  process.exit(1);
}
