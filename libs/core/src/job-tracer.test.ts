import { describe, expect, it } from 'vitest';
import { traceContextFrom } from './job-tracer.js';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe("traceContextFrom (a caller's traceparent and tracestate)", () => {
  it('keeps a valid traceparent, and a printable tracestate of bounded length only with it', () => {
    expect(traceContextFrom(` ${CALLER} `, 'a=b, c=d')).toEqual({ traceparent: CALLER, tracestate: 'a=b, c=d' });
    expect(traceContextFrom(CALLER, undefined)).toEqual({ traceparent: CALLER });
    expect(traceContextFrom(CALLER, 'x'.repeat(513))).toEqual({ traceparent: CALLER });
    expect(traceContextFrom(CALLER, 'a=b\nc=d')).toEqual({ traceparent: CALLER });
    expect(traceContextFrom(undefined, 'a=b')).toBeUndefined();
  });

  it('drops malformed or all-zero ids, upper case and other versions', () => {
    for (const bad of [
      '',
      'garbage',
      CALLER.toUpperCase(),
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `${CALLER}\n`.repeat(2),
      Buffer.from(CALLER),
    ]) {
      expect(traceContextFrom(bad, undefined), String(bad)).toBeUndefined();
    }
  });
});
