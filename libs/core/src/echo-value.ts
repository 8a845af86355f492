/**
 * How error messages quote what a client sent. A message that repeats a whole 100,000-character name is useless to a
 * person and, above about 64 KB, never reaches grpc-js clients at all; so every echoed value goes through quote().
 */

/** The most characters of one client value an error message repeats. */
export const MAX_ECHOED_CHARS = 200;

/**
 * A value from a request as a message may repeat it: unchanged when it has at most `max` characters (UTF-16 code
 * units), else its first `max` followed by a marker that says it was cut and how long it was.
 */
export function clip(value: string, max = MAX_ECHOED_CHARS): string {
  if (value.length <= max) return value;
  let end = max;
  // never split a surrogate pair
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…[cut: ${value.length} characters in all]`;
}

/** A value from a request in double quotes, cut like clip(): `"abc"`, or `"aaa…[cut: 100000 characters in all]"`. */
export function quote(value: string, max = MAX_ECHOED_CHARS): string {
  return `"${clip(value, max)}"`;
}
