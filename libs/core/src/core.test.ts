import { describe, expect, it } from 'vitest';
import { CommandArgs } from '../../proto/src/index.js';
import {
  commandArgsProto,
  commandSettingsProto,
  httpRequestArgsProto,
  httpRequestSettingsProto,
} from '../../proto/src/index.js';
import { InvalidArgumentError } from './errors.js';
import { TimeOrderedIdGenerator } from './ids.js';
import { TtlCache } from './ttl-cache.js';
import { RetryType } from './model.js';
import { firstPeriodicRunTime, jitteredDelayMs, nextPeriodicRunTime, retryDelayMs, shouldRetry } from './retry.js';
import { checkBytesAgainstSchema, decodeToObject, encodeFromObject } from './schema.js';

const policy = (
  type: RetryType,
  extra: Partial<{ interval: number; maxInterval: number; maxRetry: number; basis: number }> = {},
) => ({
  type,
  interval: 100,
  maxInterval: 0,
  maxRetry: 3,
  basis: 2,
  ...extra,
});

describe('retry math', () => {
  it('computes CONSTANT, LINEAR and EXPONENTIAL delays, clamped to max_interval', () => {
    expect([0, 1, 2].map((r) => retryDelayMs(policy(RetryType.CONSTANT), r))).toEqual([100, 100, 100]);
    expect([0, 1, 2].map((r) => retryDelayMs(policy(RetryType.LINEAR), r))).toEqual([100, 200, 300]);
    expect([0, 1, 2].map((r) => retryDelayMs(policy(RetryType.EXPONENTIAL, { basis: 3 }), r))).toEqual([100, 300, 900]);
    expect(retryDelayMs(policy(RetryType.EXPONENTIAL, { maxInterval: 250 }), 5)).toBe(250);
    expect(retryDelayMs(policy(RetryType.EXPONENTIAL, { basis: 1e6 }), 400)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('spreads a delay both ways by the jitter fraction, and keeps it exact without jitter', () => {
    expect(jitteredDelayMs(1000, 0, () => 0.9)).toBe(1000);
    expect(jitteredDelayMs(1000, 0.25, () => 0)).toBe(750);
    expect(jitteredDelayMs(1000, 0.25, () => 0.5)).toBe(1000);
    expect(jitteredDelayMs(1000, 0.25, () => 0.999999)).toBe(1250);
    // full jitter: anywhere from 0 to twice the delay; more than 1 counts as 1
    expect(jitteredDelayMs(1000, 1, () => 0)).toBe(0);
    expect(jitteredDelayMs(1000, 5, () => 0.999999)).toBe(2000);
    const spread = Array.from({ length: 200 }, () => jitteredDelayMs(1000, 0.5));
    expect(spread.some((d) => d < 1000)).toBe(true);
    expect(spread.some((d) => d > 1000)).toBe(true);
    expect(spread.every((d) => d >= 500 && d <= 1500)).toBe(true);
  });

  it('retries only with a policy and retries left; max_retry 0 means none', () => {
    expect(shouldRetry(policy(RetryType.CONSTANT), 2)).toBe(true);
    expect(shouldRetry(policy(RetryType.CONSTANT), 3)).toBe(false);
    expect(shouldRetry(policy(RetryType.CONSTANT, { maxRetry: 0 }), 0)).toBe(false);
    expect(shouldRetry(policy(RetryType.NONE), 0)).toBe(false);
  });

  it('schedules periodic runs on the interval grid and skips missed ticks', () => {
    expect(nextPeriodicRunTime(1000, 1005, 500, 1100)).toBe(1500);
    expect(nextPeriodicRunTime(1000, 1005, 500, 2600)).toBe(3000);
    expect(nextPeriodicRunTime(0, 1000, 500, 1200)).toBe(1500);
  });

  it('starts a periodic series whose run_after_time is past at the next time on its grid', () => {
    const now = Date.UTC(2026, 11, 1, 22, 0, 0, 123);
    const first = firstPeriodicRunTime(1000, 3000, now);
    expect(first % 3000).toBe(1000);
    expect(first).toBeGreaterThanOrEqual(now);
    expect(first - now).toBeLessThan(3000);
    // on the grid already: runs then; future and unset times are kept
    expect(firstPeriodicRunTime(1000, 3000, 7000)).toBe(7000);
    expect(firstPeriodicRunTime(1000, 3000, 7001)).toBe(10_000);
    expect(firstPeriodicRunTime(now + 5, 3000, now)).toBe(now + 5);
    expect(firstPeriodicRunTime(0, 3000, now)).toBe(0);
  });
});

describe('TimeOrderedIdGenerator', () => {
  it('makes strictly increasing safe integers, also within one millisecond', () => {
    let t = Date.UTC(2026, 0, 1);
    const ids = new TimeOrderedIdGenerator(3, () => t);
    const seen: number[] = [];
    for (let i = 0; i < 1000; i++) seen.push(ids.next());
    t += 1;
    seen.push(ids.next());
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect(seen.every((id) => Number.isSafeInteger(id))).toBe(true);
    expect(() => new TimeOrderedIdGenerator(64)).toThrow(RangeError);
  });

  it('keeps ids increasing when the node id changes to a lower one within one millisecond', () => {
    const t = Date.UTC(2026, 0, 1);
    const high = new TimeOrderedIdGenerator(40, () => t);
    const last = high.next();
    const low = high.withNodeId(2);
    const first = low.next();
    expect(first).toBeGreaterThan(last);
    expect((first % 2 ** 13) >> 7).toBe(2);
  });
});

describe('runner schemas', () => {
  it('checks bytes against the first message of a schema', () => {
    checkBytesAgainstSchema(commandArgsProto, CommandArgs.encode({ args: ['a'] }).finish(), 'args');
    expect(() => checkBytesAgainstSchema(commandSettingsProto, Buffer.from([0xff, 0xff, 0xff]), 'settings')).toThrow(
      InvalidArgumentError,
    );
    // a field number the message does not declare
    expect(() => checkBytesAgainstSchema(commandSettingsProto, Buffer.from([0x10, 0x01]), 'settings')).toThrow(
      /field number 2 is not declared in CommandRunnerSettings/,
    );
    // empty schema = raw bytes, anything goes
    checkBytesAgainstSchema('', Buffer.from([0xff]), 'args');
  });

  it('converts JSON to bytes and back, naming unknown fields', () => {
    const bytes = encodeFromObject(httpRequestArgsProto, {
      method: 'GET',
      path: '/x',
      headers: [{ key: 'a', value: 'b' }],
    });
    expect(decodeToObject(httpRequestArgsProto, bytes)).toMatchObject({
      method: 'GET',
      path: '/x',
      headers: [{ key: 'a', value: 'b' }],
    });
    expect(() => encodeFromObject(httpRequestArgsProto, { methd: 'GET' }, 'args')).toThrow(/no field "methd"/);
    expect(() => encodeFromObject(httpRequestArgsProto, { headers: [{ k: 1 }] }, 'args')).toThrow(
      /args.headers\[0\]: KeyValue has no field "k"/,
    );
    expect(Buffer.from(encodeFromObject('', 'raw text')).toString()).toBe('raw text');
    // JSON (camelCase) names reach the same fields as proto names
    const camel = encodeFromObject(httpRequestArgsProto, { method: 'POST', queries: [{ key: 'q', value: '1' }] });
    expect(decodeToObject(httpRequestArgsProto, camel)).toMatchObject({
      method: 'POST',
      queries: [{ key: 'q', value: '1' }],
    });
    const settings = encodeFromObject(httpRequestSettingsProto, { baseUrl: 'http://x' });
    expect(decodeToObject(httpRequestSettingsProto, settings)).toEqual({
      base_url: 'http://x',
      request_timeout_ms: 0,
      allow_any_origin: false,
      push_envelope: false,
    });
  });
});

describe('TtlCache', () => {
  it('shares one load among concurrent misses and reloads after the TTL or an invalidate', async () => {
    let t = 0;
    let loads = 0;
    const cache = new TtlCache<number, string>(
      async (k) => {
        loads += 1;
        await new Promise((r) => setTimeout(r, 5));
        return `v${k}:${loads}`;
      },
      100,
      () => t,
    );
    const values = await Promise.all([cache.get(1), cache.get(1), cache.get(1)]);
    expect(values).toEqual(['v1:1', 'v1:1', 'v1:1']);
    expect(loads).toBe(1);
    expect(await cache.get(1)).toBe('v1:1');
    t = 150;
    expect(await cache.get(1)).toBe('v1:2');
    cache.invalidate(1);
    expect(await cache.get(1)).toBe('v1:3');
  });
});
