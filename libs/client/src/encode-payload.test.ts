import { describe, expect, it } from 'vitest';
import { CommandArgs, commandArgsProto, httpRequestArgsProto } from '../../proto/src/index.js';
import { decodePayload } from './decode-payload.js';
import { encodePayload } from './encode-payload.js';

describe('encodePayload / decodePayload', () => {
  it('encodes JSON with the first message of the schema and decodes it back', () => {
    const bytes = encodePayload(commandArgsProto, '{"args":["hello","world"]}', '-a/--args');
    expect(CommandArgs.decode(bytes).args).toEqual(['hello', 'world']);
    expect(decodePayload(commandArgsProto, bytes)).toEqual({ args: ['hello', 'world'] });
  });

  it('names the option and the unknown field, also inside nested messages', () => {
    expect(() => encodePayload(commandArgsProto, '{"argz":[]}', '-a/--args')).toThrow(
      /-a\/--args: CommandArgs has no field "argz"/,
    );
    expect(() =>
      encodePayload(httpRequestArgsProto, '{"method":"GET","headers":[{"key":"a","valu":"b"}]}', '-a/--args'),
    ).toThrow(/headers\[0\]: KeyValue has no field "valu"/);
  });

  it('reports bad JSON with the parse message, as invalid input', () => {
    expect(() => encodePayload(commandArgsProto, '{"args":', '-a/--args')).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringMatching(/^-a\/--args is not valid JSON: /),
      }),
    );
  });

  it('takes and shows raw text when the runner has no schema', () => {
    const bytes = encodePayload('', 'not json {', '-a/--args');
    expect(bytes.toString()).toBe('not json {');
    expect(decodePayload('', bytes)).toBe('not json {');
    expect(decodePayload(undefined, Buffer.from('error: boom'))).toBe('error: boom');
  });
});
