import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { checkTimeZone, parseCron } from './cron-expression.js';

const at = (iso: string): number => Date.parse(iso);

describe('parseCron', () => {
  it('takes 5, 6 and 7 fields', () => {
    expect(parseCron('*/5 * * * *').nextAfter(at('2026-12-07T12:01:00Z'))).toBe(at('2026-12-07T12:05:00Z'));
    expect(parseCron('*/2 * * * * *').nextAfter(at('2026-12-07T12:00:04Z'))).toBe(at('2026-12-07T12:00:06Z'));
    expect(parseCron('0 0 12 1 1 * 2030').nextAfter(at('2026-12-07T00:00:00Z'))).toBe(at('2030-01-01T12:00:00Z'));
    expect(parseCron('0 0 12 1 1 * 2030').nextAfter(at('2030-01-01T12:00:00Z'))).toBeUndefined();
  });

  it('has names, L, W and #', () => {
    const from = at('2026-12-07T00:00:00Z');
    expect(parseCron('0 0 12 * * MON#2').nextAfter(from)).toBe(at('2026-12-14T12:00:00Z'));
    expect(parseCron('0 0 0 L * *').nextAfter(from)).toBe(at('2026-12-31T00:00:00Z'));
    expect(parseCron('0 0 12 15W * *').nextAfter(from)).toBe(at('2026-12-15T12:00:00Z'));
    expect(parseCron('0 0 9 * JAN-MAR MON-FRI').nextAfter(from)).toBe(at('2027-01-01T09:00:00Z'));
  });

  it('computes in the time zone', () => {
    expect(parseCron('0 0 12 * * *', 'Asia/Tokyo').nextAfter(at('2026-12-07T00:00:00Z'))).toBe(
      at('2026-12-07T03:00:00Z'),
    );
  });

  it('finds the latest tick at or before a time', () => {
    const c = parseCron('*/2 * * * * *');
    expect(c.latestAtOrBefore(at('2026-12-07T12:00:05.300Z'))).toBe(at('2026-12-07T12:00:04Z'));
    expect(c.latestAtOrBefore(at('2026-12-07T12:00:04Z'))).toBe(at('2026-12-07T12:00:04Z'));
  });

  it('refuses bad expressions and time zones with a message that says what to fix', () => {
    expect(() => parseCron('* * * *')).toThrow(
      /not valid: .*exactly five, six, or seven space separated parts are required; use 5 fields/,
    );
    expect(() => parseCron('60 * * * * *')).toThrow(/second: 60/);
    expect(() => parseCron('')).toThrow(InvalidArgumentError);
    expect(() => parseCron('* * * * * *', 'Nowhere/City')).toThrow(
      'time zone "Nowhere/City" is unknown; use an IANA name such as "UTC", "Europe/Paris" or "Asia/Tokyo"',
    );
    expect(checkTimeZone('Europe/Paris')).toBe('Europe/Paris');
  });
});
