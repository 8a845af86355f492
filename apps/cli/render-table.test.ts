import { describe, expect, it } from 'vitest';
import { renderCard } from './render-card.js';
import { renderTable } from './render-table.js';

describe('renderTable', () => {
  it('aligns columns under upper-cased headers and keeps each record on one line', () => {
    const out = renderTable(
      [
        { id: 1, name: 'echo', output: ['hello\n'], channel: null },
        { id: 12, name: 'sh', output: ['a\nb\n', 'c'], channel: 'slow' },
      ],
      ['id', 'name', 'output', 'channel'],
    );
    expect(out.split('\n')).toEqual(['ID  NAME  OUTPUT   CHANNEL', '1   echo  hello', '12  sh    a\\nb, c  slow']);
  });
});

describe('renderCard', () => {
  it('aligns keys and continues a value of several lines under its first line', () => {
    const out = renderCard({ id: 3, output: ['line1\nline2\n'], args: { args: ['x'] }, uniq_key: null });
    expect(out.split('\n')).toEqual([
      'id        3',
      'output    line1',
      '          line2',
      'args      {"args":["x"]}',
      'uniq_key',
    ]);
  });
});
