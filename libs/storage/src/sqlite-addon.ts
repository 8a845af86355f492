import { existsSync } from 'node:fs';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

let embedded: object | undefined;

/**
 * better-sqlite3's native addon when the app runs as the single executable, for its `nativeBinding` option:
 * the executable writes the addon next to the app's bundle in a private temp folder (scripts/sea-launcher.cjs),
 * where better-sqlite3's own lookup cannot find it, and it is loaded here with process.dlopen, once per process.
 * Anywhere else this is undefined and better-sqlite3 finds its addon in node_modules as usual.
 */
export function embeddedSqliteAddon(): object | undefined {
  if (embedded !== undefined || !isSea()) return embedded;
  const file = fileURLToPath(new URL('./better_sqlite3.node', import.meta.url));
  if (!existsSync(file)) return undefined;
  const addon = { exports: {} };
  process.dlopen(addon, file);
  embedded = addon.exports;
  return embedded;
}
