/** The name of a protobuf enum value (`ResultStatus.SUCCESS` → `SUCCESS`), or its number when it has no name. */
export function enumName(values: Record<string | number, string | number>, value: number): string {
  const name = values[value];
  return typeof name === 'string' ? name : String(value);
}
