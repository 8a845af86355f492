import { describe, expect, it } from 'vitest';
import { HttpError } from '../http-listener.js';
import { MAX_DELAY_SECONDS, parseCc, parseMail, parseTask } from './task.js';

const task = { id: 't1', method: 'EXEC', delay: 0, name: '/bin/echo', params: 'a b', cc: '' };

/** The 400 message parseTask gives, or a failure when it accepts the body. */
function refusal(body: unknown): string {
  try {
    parseTask(body, 600);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return (err as HttpError).message;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('parseTask', () => {
  it("reads poulpe's task JSON, wait optional", () => {
    expect(parseTask(task, 600)).toEqual({
      id: 't1',
      method: 'EXEC',
      delaySeconds: 0,
      name: '/bin/echo',
      params: 'a b',
      cc: [],
      waitSeconds: 0,
    });
    expect(parseTask({ ...task, method: 'MAIL_TO', delay: 5, cc: '1 3', wait: 30, extra: true }, 600)).toMatchObject({
      method: 'MAIL_TO',
      delaySeconds: 5,
      cc: [1, 3],
      waitSeconds: 30,
    });
    expect(parseTask({ ...task, wait: null }, 600).waitSeconds).toBe(0);
  });

  it('refuses what is not a task with a message naming the field', () => {
    expect(refusal([task])).toMatch(/must be a JSON object/);
    expect(refusal(null)).toMatch(/must be a JSON object/);
    expect(refusal('task')).toMatch(/must be a JSON object/);
    for (const field of ['id', 'method', 'delay', 'name', 'params', 'cc']) {
      const { [field]: _, ...missing } = task as Record<string, unknown>;
      expect(refusal(missing)).toMatch(new RegExp(`"${field}" is missing`));
    }
    expect(refusal({ ...task, id: 7 })).toMatch(/"id" must be a string, not a number/);
    expect(refusal({ ...task, id: '' })).toMatch(/"id" must not be empty/);
    expect(refusal({ ...task, id: 'x'.repeat(256) })).toMatch(/at most 255 characters/);
    expect(refusal({ ...task, method: 'DELETE' })).toMatch(
      /"method" "DELETE" is unknown; use GET, POST, EXEC, MAIL_TO/,
    );
    expect(refusal({ ...task, method: 'get' })).toMatch(/unknown/);
    expect(refusal({ ...task, delay: -1 })).toMatch(/"delay" must be whole seconds from 0 to \d+, not -1/);
    expect(refusal({ ...task, delay: 1.5 })).toMatch(/"delay" must be whole seconds/);
    expect(refusal({ ...task, delay: '5' })).toMatch(/"delay" must be whole seconds .* not a string/);
    expect(refusal({ ...task, delay: MAX_DELAY_SECONDS + 1 })).toMatch(/"delay"/);
    expect(refusal({ ...task, params: { a: 1 } })).toMatch(/"params" must be a string, not an object/);
    expect(refusal({ ...task, cc: -1 })).toMatch(/"cc" must be a string, not a number/);
    expect(refusal({ ...task, cc: '-1' })).toMatch(/"cc" must list thread numbers .* "-1" is not one/);
    expect(refusal({ ...task, wait: 601 })).toMatch(/"wait" must be whole seconds from 0 to 600, not 601/);
    expect(refusal({ ...task, wait: -3 })).toMatch(/"wait"/);
    expect(refusal({ ...task, wait: true })).toMatch(/"wait" .* not a boolean/);
  });
});

describe('parseCc', () => {
  it('takes thread numbers separated by spaces or commas, and refuses anything else', () => {
    expect(parseCc('')).toEqual([]);
    expect(parseCc('  ')).toEqual([]);
    expect(parseCc('0 2')).toEqual([0, 2]);
    expect(parseCc('1,3')).toEqual([1, 3]);
    expect(() => parseCc('a')).toThrow(/"a" is not one/);
    expect(() => parseCc('1.5')).toThrow(/thread numbers/);
    expect(() => parseCc('99999999999')).toThrow(/thread numbers/);
  });
});

describe('parseMail', () => {
  it('reads {from_addr, to_addr, title, body}', () => {
    expect(
      parseMail(
        JSON.stringify({ from_addr: 'a@x.example', to_addr: 'b@x.example, c@x.example', title: 'T', body: 'B' }),
      ),
    ).toEqual({ from: 'a@x.example', to: ['b@x.example', 'c@x.example'], title: 'T', body: 'B' });
    expect(parseMail(JSON.stringify({ from_addr: '', to_addr: 'b@x.example' }))).toEqual({
      from: undefined,
      to: ['b@x.example'],
      title: '',
      body: '',
    });
  });

  it('refuses params that are not a mail', () => {
    expect(() => parseMail('not json')).toThrow(/MAIL_TO "params" must be JSON/);
    expect(() => parseMail('[]')).toThrow(/must be a JSON object/);
    expect(() => parseMail('{}')).toThrow(/needs "to_addr"/);
    expect(() => parseMail('{"to_addr":""}')).toThrow(/at least one address/);
    expect(() => parseMail('{"to_addr":"nobody"}')).toThrow(/"nobody" is not a mail address/);
    expect(() => parseMail('{"to_addr":"b@x.example","title":5}')).toThrow(/"title" must be a string, not a number/);
    expect(() => parseMail('{"to_addr":"b@x.example","from_addr":"evil"}')).toThrow(/"evil" is not a mail address/);
  });
});
