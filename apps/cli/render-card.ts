import { cellText } from './cell-text.js';
import type { CliRecord } from './cli-record.js';
import { width } from './render-table.js';

/** One record as aligned `key  value` lines; a value of several lines continues under its first line. */
export function renderCard(record: CliRecord): string {
  const keys = Object.keys(record);
  const keyWidth = Math.max(0, ...keys.map(width));
  const indent = ' '.repeat(keyWidth + 2);
  return keys
    .map((key) => {
      const [first = '', ...more] = cellText(record[key]!, true).split('\n');
      const head = `${key}${' '.repeat(keyWidth - width(key))}  ${first}`.trimEnd();
      return [head, ...more.map((line) => `${indent}${line}`.trimEnd())].join('\n');
    })
    .join('\n');
}
