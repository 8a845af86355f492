import { describe, expect, it } from 'vitest';
import { encodeJob, InternalError } from '../../core/src/index.js';
import { redisCodec } from './redis-codec.js';
import { testJob } from './testing/test-job.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const record = (payload: Buffer): Buffer => Buffer.concat([Buffer.from('1channel\n'), payload]);

describe('the Redis job payload', () => {
  it('is the Job protobuf alone for a job without a trace context', () => {
    const job = testJob(5);
    expect(redisCodec.encodeJob(job).equals(Buffer.from(encodeJob(job)))).toBe(true);
    expect(redisCodec.decodeJobRecord(record(redisCodec.encodeJob(job)))).toEqual(job);
  });

  it('puts a trace context in front of the protobuf and reads it back, tracestate or not', () => {
    for (const trace of [{ traceparent }, { traceparent, tracestate: 'a=1, b=two words' }]) {
      const job = testJob(6, { trace });
      const payload = redisCodec.encodeJob(job);
      expect(payload[0]).toBe(0);
      expect(payload.subarray(payload.length - encodeJob(job).length).equals(Buffer.from(encodeJob(job)))).toBe(true);
      expect(redisCodec.decodeJobRecord(record(payload))).toEqual(job);
    }
  });

  it('refuses a trace section without its end instead of reading garbage', () => {
    const cut = Buffer.from(`\0${traceparent}`, 'latin1');
    expect(() => redisCodec.decodeJobRecord(record(cut))).toThrow(InternalError);
  });
});
