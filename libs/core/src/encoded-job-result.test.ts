import { describe, expect, it } from 'vitest';
import { encodeJobResult } from './convert.js';
import { EncodedJobResult } from './encoded-job-result.js';
import { InvalidArgumentError } from './errors.js';
import type { JobResult } from './model.js';
import { Priority, ResponseType, ResultStatus } from './model.js';
import { encodeFields } from './protobuf-wire.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function result(overrides: Partial<JobResult> = {}): JobResult {
  return {
    id: 9_007_199_254_740_000,
    jobId: 9_007_199_254_740_991,
    workerId: 42,
    workerName: 'wörker ✓',
    args: new Uint8Array([1, 2, 3]),
    uniqKey: 'nightly',
    status: ResultStatus.FATAL_ERROR,
    output: [new Uint8Array(300).fill(7), new Uint8Array(0)],
    retried: 3,
    maxRetry: 2 ** 32 - 1,
    priority: Priority.PRIORITY_HIGH,
    timeout: 2 ** 40,
    enqueueTime: 1_700_000_000_000,
    runAfterTime: 0,
    startTime: 1_700_000_000_010,
    endTime: 1_700_000_000_020,
    responseType: ResponseType.LISTEN_AFTER,
    storeSuccess: true,
    storeFailure: false,
    ...overrides,
  };
}

describe('EncodedJobResult', () => {
  it('encodes once, on first use, and hands back the very result it was given', () => {
    const r = result();
    const encoded = EncodedJobResult.of(r);
    expect([encoded.jobId, encoded.workerId]).toEqual([r.jobId, r.workerId]);
    expect(hex(encoded.bytes)).toBe(hex(encodeJobResult(r)));
    expect(encoded.bytes).toBe(encoded.bytes);
    expect(encoded.decode()).toBe(r);
  });

  it.each([
    ['a full result', result()],
    ['an empty one', result({ id: 0, jobId: 0, workerId: 0, workerName: '', args: new Uint8Array(0), output: [] })],
  ])('parses %s without decoding it, and decodes it once on demand', (_what, r) => {
    const bytes = Buffer.from(encodeJobResult(r));
    const parsed = EncodedJobResult.parse(bytes);
    expect(parsed.bytes).toBe(bytes);
    expect([parsed.jobId, parsed.workerId]).toEqual([r.jobId, r.workerId]);
    expect(parsed.decode()).toEqual(r);
    expect(parsed.decode()).toBe(parsed.decode());
    expect(Buffer.isBuffer(parsed.decode().args)).toBe(false);
  });

  it('takes fields it does not know, and repeated messages merged as protobuf merges them', () => {
    const r = result();
    const unknown = encodeFields([
      { field: 99, varint: 5 },
      { field: 100, bytes: Buffer.from([0xff]) },
    ]);
    const later = encodeFields([
      { field: 2, bytes: encodeFields([{ field: 2, bytes: encodeFields([{ field: 1, varint: 7 }]) }]) },
    ]);
    const bytes = Buffer.concat([encodeJobResult(r), unknown, later]);
    const parsed = EncodedJobResult.parse(bytes);
    expect([parsed.jobId, parsed.workerId]).toEqual([r.jobId, 7]);
    expect(parsed.decode().workerId).toBe(7);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['text', Buffer.from('this is not a JobResult'), /wire type/],
    ['a truncated result', Buffer.from(encodeJobResult(result())).subarray(0, 40), /past the end|inside a varint/],
    ['data as a varint', encodeFields([{ field: 2, varint: 1 }]), /^.*: data has wire type 0, not 2$/],
    [
      'a worker_name that is not UTF-8',
      encodeFields([{ field: 2, bytes: encodeFields([{ field: 3, bytes: Buffer.from([0xc3, 0x28]) }]) }]),
      /in data: worker_name is not UTF-8$/,
    ],
    [
      'a job id past 2^53',
      // data { job_id { value: 2^53 } }
      Buffer.from('120b0a09088080808080808010', 'hex'),
      /in data\.job_id: value is not a safe integer$/,
    ],
    [
      'a negative end_time',
      encodeFields([{ field: 2, bytes: encodeFields([{ field: 15, varint: -1 }]) }]),
      /in data: end_time is not a safe integer$/,
    ],
  ])('refuses %s, saying why', (_what, bytes, why) => {
    const error: unknown = (() => {
      try {
        EncodedJobResult.parse(bytes);
        return undefined;
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^the bytes are not a jobworkerp\.data\.JobResult: /);
    expect((error as Error).message).toMatch(why);
  });
});
