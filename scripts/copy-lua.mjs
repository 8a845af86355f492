#!/usr/bin/env node
/**
 * Part of `npm run build`: tsc compiles the TypeScript only, so this copies the Lua scripts the Redis adapters load
 * at run time (libs/queue/src/redis/lua, see libs/queue/src/redis-lua.ts) to the same place below dist/.
 */
import { cp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LUA = 'libs/queue/src/redis/lua';

const target = join(ROOT, 'dist', LUA);
await rm(target, { recursive: true, force: true });
await cp(join(ROOT, LUA), target, { recursive: true, filter: (path) => !path.endsWith('~') });
