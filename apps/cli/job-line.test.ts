import { describe, expect, it } from 'vitest';
import { InvalidInputError, Priority } from '../../libs/client/src/index.js';
import { parseJobLine } from './job-line.js';

describe('a job enqueue-stream line', () => {
  it('takes the fields of job enqueue, with its values', () => {
    const line = JSON.stringify({
      worker: 'echo',
      args: { args: ['a'] },
      uniqueKey: 'k',
      runAfterTime: '2030-01-02T03:04:05Z',
      priority: 'middle',
      timeout: 5000,
    });
    expect(parseJobLine(line)).toEqual({
      worker: 'echo',
      args: { args: ['a'] },
      uniqKey: 'k',
      runAfterTime: Date.parse('2030-01-02T03:04:05Z'),
      priority: Priority.PRIORITY_MEDIUM,
      timeoutMs: 5000,
    });
    expect(parseJobLine('{"worker":3,"runAfterTime":1000,"priority":"high","uniqueKey":null}')).toEqual({
      worker: 3,
      args: undefined,
      uniqKey: undefined,
      runAfterTime: 1000,
      priority: Priority.PRIORITY_HIGH,
      timeoutMs: undefined,
    });
  });

  it.each([
    ['{"worker":', /^not valid JSON/],
    ['"echo"', /^expected a JSON object/],
    ['{"args":{}}', /^"worker" must be a worker id or name$/],
    ['{"worker":0}', /^"worker" must be a worker id or name$/],
    ['{"worker":"echo","uniq_key":"k"}', /^unknown field "uniq_key" \(fields: worker, args, uniqueKey/],
    ['{"worker":"echo","priority":"urgent"}', /^"priority": use one of/],
    ['{"worker":"echo","priority":1}', /^"priority": use one of/],
    ['{"worker":"echo","timeout":-1}', /^"timeout": expected a whole number >= 0$/],
    ['{"worker":"echo","timeout":"5"}', /^"timeout": expected a whole number >= 0$/],
    ['{"worker":"echo","runAfterTime":"soon"}', /^"runAfterTime": expected epoch milliseconds or an ISO time/],
    ['{"worker":"echo","uniqueKey":7}', /^"uniqueKey": expected a string$/],
  ])('rejects %s, naming what is wrong', (text, message) => {
    expect(() => parseJobLine(text)).toThrow(InvalidInputError);
    expect(() => parseJobLine(text)).toThrow(message);
  });
});
