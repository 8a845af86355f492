/**
 * The protobuf wire format, for the few messages this project frames or inspects by hand instead of going through the
 * generated encoders: a reply built around bytes that are already encoded (the front passes a published JobResult to
 * the client as it came), and the cheap check that such bytes are a well-formed message before anyone sends them on.
 * Only what those need: varint and length-delimited fields written, every wire type read and skipped.
 */
import { InvalidArgumentError } from './errors.js';

/** Wire types (the low 3 bits of a field's tag). Groups (3, 4) are obsolete and refused by the reader. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** One field to write: a varint (int32/int64/uint32/uint64/bool/enum) or length-delimited bytes (bytes, message). */
export type WireField =
  { readonly field: number; readonly varint: number } | { readonly field: number; readonly bytes: Uint8Array };

/** the largest field number protobuf allows */
const MAX_FIELD = 2 ** 29 - 1;

/**
 * Bytes of `value` as a varint. A negative value is an int64 in two's complement, which always takes 10 bytes (as
 * every protobuf encoder writes it).
 */
export function varintSize(value: number): number {
  assertSafeInteger(value);
  if (value < 0) return 10;
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size += 1;
  return size;
}

/** Encodes the fields, in the order given, into one buffer sized up front. Default values are the caller's to omit. */
export function encodeFields(fields: readonly WireField[]): Buffer {
  let size = 0;
  for (const f of fields) {
    if (!Number.isInteger(f.field) || f.field < 1 || f.field > MAX_FIELD) {
      throw new InvalidArgumentError(`field number must be between 1 and ${MAX_FIELD}, got ${f.field}`);
    }
    size += varintSize(f.field * 8);
    size += 'varint' in f ? varintSize(f.varint) : varintSize(f.bytes.byteLength) + f.bytes.byteLength;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const f of fields) {
    if ('varint' in f) {
      pos = writeVarint(out, pos, f.field * 8 + WireType.VARINT);
      pos = writeVarint(out, pos, f.varint);
    } else {
      pos = writeVarint(out, pos, f.field * 8 + WireType.LEN);
      pos = writeVarint(out, pos, f.bytes.byteLength);
      out.set(f.bytes, pos);
      pos += f.bytes.byteLength;
    }
  }
  return out;
}

function writeVarint(out: Uint8Array, start: number, value: number): number {
  let pos = start;
  if (value < 0) {
    let rest = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < 9; i += 1) {
      out[pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    out[pos++] = Number(rest);
    return pos;
  }
  let rest = value;
  while (rest >= 0x80) {
    out[pos++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos++] = rest;
  return pos;
}

function assertSafeInteger(value: number): void {
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`a varint must be a safe integer, got ${value}`);
}

/**
 * Reads the fields of one message, front to back, without copying or decoding its values. Every method throws
 * InvalidArgumentError on bytes that are not the wire format (a truncated field, a varint longer than 10 bytes, a
 * group or an unknown wire type, field number 0).
 */
export class WireReader {
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.byteLength,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wireType: WireType } {
    const tag = this.varint();
    const wireType = tag % 8;
    const field = Math.floor(tag / 8);
    if (field < 1 || field > MAX_FIELD) throw new InvalidArgumentError(`field number ${field} is out of range`);
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5) {
      throw new InvalidArgumentError(`field ${field} has wire type ${wireType}, which is not supported`);
    }
    return { field, wireType };
  }

  /**
   * A varint as a number: exact up to 2^53 − 1; a larger one (including a negative int64) comes out as an unsafe
   * integer, which is how the caller tells it apart.
   */
  varint(): number {
    let value = 0;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.end) throw new InvalidArgumentError('the message ends inside a varint');
      const b = this.bytes[this.pos++] as number;
      // exact while the sum stays below 2^53; past it, rounding keeps it at or above 2^53, so still unsafe
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return value;
    }
    throw new InvalidArgumentError('a varint is longer than 10 bytes');
  }

  /** The bounds of a length-delimited value, which the reader then steps over. */
  lengthDelimited(): { start: number; end: number } {
    const length = this.varint();
    const start = this.pos;
    if (!Number.isSafeInteger(length) || length > this.end - start) {
      throw new InvalidArgumentError('a length-delimited field runs past the end of the message');
    }
    this.pos = start + length;
    return { start, end: this.pos };
  }

  /** Steps over a value of the wire type. */
  skip(wireType: WireType): void {
    if (wireType === WireType.VARINT) this.varint();
    else if (wireType === WireType.LEN) this.lengthDelimited();
    else this.fixed(wireType === WireType.I64 ? 8 : 4);
  }

  private fixed(width: number): void {
    if (width > this.end - this.pos)
      throw new InvalidArgumentError('a fixed-width field runs past the end of the message');
    this.pos += width;
  }
}
