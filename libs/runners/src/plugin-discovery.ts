/**
 * Finds the plugins in PLUGINS_RUNNER_DIR folders. A plugin module is a `.js`/`.mjs` file in a folder, or a
 * sub-folder with a package.json `main` (else index.mjs / index.js). Each module is imported in a short-lived
 * worker thread to read its name and schemas, so a module that throws, hangs or exits at import harms nothing: it
 * is logged and skipped, like one whose schemas do not parse, one named like a built-in runner, and the second of
 * two plugins with the same name. A missing folder is logged too. Nothing here is fatal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../core/src/index.js';
import { firstMessageType } from '../../core/src/index.js';
import { BUILTIN_RUNNERS } from './builtin-runners.js';
import { errorMessage } from './error-message.js';
import type { PluginMetadata } from './plugin-messages.js';
import type { PluginThreadOptions } from './plugin-thread.js';
import { PluginThread } from './plugin-thread.js';

export interface DiscoveredPlugin {
  /** the module's absolute path */
  readonly path: string;
  /** the module's file URL (what threads import) */
  readonly moduleUrl: string;
  readonly metadata: PluginMetadata;
}

export interface PluginDiscoveryOptions extends PluginThreadOptions {
  readonly logger: Logger;
}

const MODULE_FILE = /\.(m?js)$/;

/** The usable plugins of `dirs` (relative folders are resolved against the working directory), in folder order. */
export async function discoverPlugins(
  dirs: readonly string[],
  options: PluginDiscoveryOptions,
): Promise<DiscoveredPlugin[]> {
  const { logger } = options;
  const paths: string[] = [];
  for (const dir of dirs) paths.push(...(await moduleFiles(resolve(dir), logger)));
  const probes = await Promise.all(paths.map((path) => probe(path, options)));

  const names = new Map<string, string>(BUILTIN_RUNNERS.map((runner) => [runner.name, 'a built-in runner']));
  const found: DiscoveredPlugin[] = [];
  for (const [i, result] of probes.entries()) {
    const path = paths[i] ?? '';
    if (result instanceof Error) {
      logger.warn({ path, err: result.message }, 'skipped a plugin module that cannot be loaded');
      continue;
    }
    const taken = names.get(result.name);
    if (taken !== undefined) {
      logger.warn({ path, plugin: result.name, takenBy: taken }, 'skipped a plugin whose name is already taken');
      continue;
    }
    names.set(result.name, path);
    found.push({ path, moduleUrl: pathToFileURL(path).href, metadata: result });
    logger.debug({ path, plugin: result.name }, 'plugin found');
  }
  return found;
}

/** The plugin modules directly in `dir`, sorted by name. */
async function moduleFiles(dir: string, logger: Logger): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    logger.warn({ dir, err: errorMessage(err) }, 'cannot read a PLUGINS_RUNNER_DIR folder; no plugins loaded from it');
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isFile() && MODULE_FILE.test(entry.name)) files.push(path);
    else if (entry.isDirectory()) {
      const main = folderEntry(path);
      if (main !== undefined) files.push(main);
    }
  }
  return files;
}

/** The entry module of a plugin folder, or undefined when it has none. */
function folderEntry(folder: string): string | undefined {
  const manifest = join(folder, 'package.json');
  if (existsSync(manifest)) {
    try {
      const main: unknown = (JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>)['main'];
      if (typeof main === 'string') return resolve(folder, main);
    } catch {
      // an unreadable package.json: fall back to index files
    }
  }
  return ['index.mjs', 'index.js'].map((name) => join(folder, name)).find((path) => existsSync(path));
}

/** The module's metadata read in a thread, or the reason it cannot be a plugin. */
async function probe(path: string, options: PluginThreadOptions): Promise<PluginMetadata | Error> {
  let thread: PluginThread;
  try {
    thread = await PluginThread.start(pathToFileURL(path).href, options, path);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  const metadata = thread.metadata;
  await thread.stop();
  try {
    firstMessageType(metadata.runnerSettingsProto, 'runnerSettingsProto');
    firstMessageType(metadata.jobArgsProto, 'jobArgsProto');
    firstMessageType(metadata.resultOutputProto ?? '', 'resultOutputProto');
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  return metadata;
}
