/** Hand-made protobuf bytes for tests that send what a generated encoder never would. */

/** A varint of any 64-bit value (negative values as their two's complement, as int64 fields encode them). */
export function varint(value: bigint): number[] {
  const out: number[] = [];
  let n = BigInt.asUintN(64, value);
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? low | 0x80 : low);
  } while (n > 0n);
  return out;
}

/** A field key: field number and wire type. */
export function tag(field: number, wire: number): number[] {
  return varint(BigInt((field << 3) | wire));
}

/** A varint field. */
export function varintField(field: number, value: bigint): number[] {
  return [...tag(field, 0), ...varint(value)];
}
