import type { CliValue } from './cli-record.js';

/**
 * A value as text for a table cell (`multiline` false: newlines shown as `\n`) or a card (`multiline` true).
 * null is empty; a text's final newline (command stdout) is dropped; a list shows its items; objects are compact JSON.
 */
export function cellText(value: CliValue, multiline: boolean): string {
  let text: string;
  if (value === null) text = '';
  else if (typeof value === 'string') text = value.endsWith('\n') ? value.slice(0, -1) : value;
  else if (Array.isArray(value)) text = value.map((v) => cellText(v, multiline)).join(multiline ? '\n' : ', ');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return multiline ? text : text.replaceAll('\r', '').replaceAll('\n', '\\n').replaceAll('\t', ' ');
}
