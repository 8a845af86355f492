import { describe, expect, it } from 'vitest';
import * as pb from '../../proto/src/index.js';
import { encodeJobResult } from './convert.js';
import { EncodedJobResult } from './encoded-job-result.js';
import { InvalidArgumentError } from './errors.js';
import type { JobResult } from './model.js';
import { Priority, ResponseType, ResultStatus } from './model.js';
import { encodeFields, varintSize, WireReader, WireType } from './protobuf-wire.js';

/** ints around every varint length boundary, the 32-bit ones, and the ends of the safe range */
const VALUES = [
  0,
  1,
  127,
  128,
  16_383,
  16_384,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 35,
  2 ** 49,
  2 ** 52 + 1,
  Number.MAX_SAFE_INTEGER,
  -1,
  -(2 ** 31),
  -(2 ** 32) - 5,
  Number.MIN_SAFE_INTEGER,
];

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('encodeFields', () => {
  it.each(VALUES)('writes an int64 varint field like the generated encoder (%d)', (value) => {
    const expected = pb.JobId.encode({ value }).finish();
    const fields = value === 0 ? [] : [{ field: 1, varint: value }];
    expect(hex(encodeFields(fields))).toBe(hex(expected));
    if (value !== 0) expect(varintSize(value)).toBe(expected.byteLength - 1);
  });

  it('writes length-delimited fields, empty ones and ones longer than 127 bytes, with high field numbers', () => {
    const long = Buffer.alloc(70_000, 0xab);
    const items = [Buffer.alloc(0), Buffer.from([1, 2, 3]), long];
    expect(hex(encodeFields(items.map((bytes) => ({ field: 1, bytes }))))).toBe(
      hex(pb.ResultOutput.encode({ items }).finish()),
    );
    // field 16 and up take a two-byte tag
    const bytes = encodeFields([
      { field: 16, varint: ResponseType.DIRECT },
      { field: 3, bytes: Buffer.from('wörker') },
    ]);
    const data = pb.JobResultData.decode(bytes);
    expect(data.responseType).toBe(ResponseType.DIRECT);
    expect(data.workerName).toBe('wörker');
  });

  it('refuses values it cannot write exactly, and field numbers protobuf does not allow', () => {
    for (const varint of [2 ** 53, -(2 ** 53), 1.5, Number.NaN, Infinity]) {
      expect(() => encodeFields([{ field: 1, varint }])).toThrow(InvalidArgumentError);
    }
    for (const field of [0, -1, 2 ** 29, 1.5]) {
      expect(() => encodeFields([{ field, varint: 1 }])).toThrow(InvalidArgumentError);
    }
  });
});

describe('WireReader', () => {
  it.each(VALUES)('reads back what the generated encoder wrote (%d)', (value) => {
    const reader = new WireReader(pb.JobId.encode({ value: value === 0 ? 5 : value }).finish());
    expect(reader.tag()).toEqual({ field: 1, wireType: WireType.VARINT });
    const read = reader.varint();
    // a negative int64 is 2^64 + value: not a safe integer, which is how a caller refuses it
    if (value < 0) expect(Number.isSafeInteger(read)).toBe(false);
    else expect(read).toBe(value === 0 ? 5 : value);
    expect(reader.done).toBe(true);
  });

  it('reads varints past 2^53 as unsafe integers', () => {
    const reader = new WireReader(Buffer.from('8080808080808010', 'hex')); // 2^53
    expect(Number.isSafeInteger(reader.varint())).toBe(false);
  });

  it('skips every wire type and stays inside its bounds', () => {
    const bytes = Buffer.from([0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, 9, 9, 0x25, 1, 2, 3, 4]);
    const reader = new WireReader(bytes);
    const seen: number[] = [];
    while (!reader.done) {
      const { field, wireType } = reader.tag();
      seen.push(field);
      reader.skip(wireType);
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    // the same bytes cut short: each cut ends inside a field
    for (const end of [2, 5, 13, 15, 19]) {
      const cut = new WireReader(bytes, 0, end);
      expect(() => {
        while (!cut.done) cut.skip(cut.tag().wireType);
      }).toThrow(InvalidArgumentError);
    }
  });

  it('refuses groups, unknown wire types, field 0 and overlong varints', () => {
    for (const tag of [0x0b, 0x0c, 0x0e, 0x0f, 0x00]) {
      expect(() => new WireReader(Buffer.from([tag, 0])).tag()).toThrow(InvalidArgumentError);
    }
    expect(() => new WireReader(Buffer.alloc(11, 0x80)).varint()).toThrow(/longer than 10 bytes/);
  });
});

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
