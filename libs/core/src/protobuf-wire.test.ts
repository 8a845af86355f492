import { describe, expect, it } from 'vitest';
import * as pb from '../../proto/src/index.js';
import { InvalidArgumentError } from './errors.js';
import { ResponseType } from './model.js';
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
