import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../core/src/index.js';
import { RedisScript } from './redis-script.js';

/**
 * Loads the Lua scripts of the Redis adapters from their files, `redis/lua/<name>-<KEYS>.lua`: one file per script,
 * so each reads (and lints) as Lua, and the number of keys it takes is in its name where a caller sees it.
 *
 * A line `-- @include <file>` is replaced by the text of `redis/lua/include/<file>` (helpers several scripts share).
 *
 * The folder is found next to this module (it runs from libs/queue/src in tests and from dist/libs/queue/src once
 * built: the build copies the .lua files there) or, in the single executable, below the bundle's folder at its path
 * in this repository (the bundle is one file, so this module's URL is the bundle's).
 */
const CANDIDATES = ['./redis/lua/', './libs/queue/src/redis/lua/'].map((path) =>
  fileURLToPath(new URL(path, import.meta.url)),
);

let folder: string | undefined;

function luaFolder(): string {
  folder ??= CANDIDATES.find((candidate) => existsSync(candidate));
  if (folder === undefined) {
    throw new InternalError(`the Lua scripts of the queue are missing: none of ${CANDIDATES.join(', ')} exists`);
  }
  return folder;
}

const INCLUDE = /^--[ \t]*@include[ \t]+(\S+)[ \t]*$/gm;
const NAME = /^[a-z][a-z0-9-]*-(\d+)$/;

function readLua(path: string): string {
  if (!existsSync(path)) throw new InternalError(`the Lua script file ${path} is missing`);
  return readFileSync(path, 'utf8');
}

/**
 * The script in `redis/lua/<file>.lua`, e.g. luaScript('queue-claim-7'): numberOfKeys is the number the name ends
 * with. Reads the file (and its includes) at once, synchronously: the adapters define their scripts when they are
 * made, and a missing file then fails with an error naming it.
 */
export function luaScript(file: string): RedisScript {
  const match = NAME.exec(file);
  if (match === null) {
    throw new InternalError(`a Lua script is named <name>-<number of keys>, like queue-claim-7, got "${file}"`);
  }
  const dir = luaFolder();
  const lua = readLua(join(dir, `${file}.lua`)).replace(INCLUDE, (_, include: string) =>
    readLua(join(dir, 'include', include)),
  );
  // a command name ioredis can add as a method: jw + the file name in camel case (queue-claim-7 → jwQueueClaim7)
  const name = `jw${file.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}`;
  return new RedisScript(name, Number(match[1]), lua);
}
