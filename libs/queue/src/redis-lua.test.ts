import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../../core/src/index.js';
import { luaScript } from './redis-lua.js';

const LUA = fileURLToPath(new URL('./redis/lua/', import.meta.url));
const scripts = readdirSync(LUA)
  .filter((file) => file.endsWith('.lua'))
  .map((file) => file.slice(0, -'.lua'.length));

describe('luaScript', () => {
  it('takes the number of keys from the file name and expands includes', () => {
    const claim = luaScript('queue-claim-9');
    expect(claim.name).toBe('jwQueueClaim9');
    expect(claim.numberOfKeys).toBe(9);
    expect(claim.lua).toContain('local function now_ms()');
    expect(claim.lua).not.toContain('@include');
  });

  it('fails with an error naming the file when it is missing', () => {
    expect(() => luaScript('queue-missing-2')).toThrow(InternalError);
    expect(() => luaScript('queue-missing-2')).toThrow(/redis\/lua\/queue-missing-2\.lua is missing/);
  });

  it('refuses a name without the number of keys', () => {
    expect(() => luaScript('queue-claim')).toThrow(/<name>-<number of keys>/);
  });

  it.each(scripts)('%s uses exactly the keys its name says', (file) => {
    const script = luaScript(file);
    const text = readFileSync(`${LUA}${file}.lua`, 'utf8');
    const used = [...text.matchAll(/KEYS\[(\d+)\]/g)].map((match) => Number(match[1]));
    expect(Math.max(0, ...used)).toBe(script.numberOfKeys);
    expect(script.lua).not.toMatch(/@include/);
  });
});
