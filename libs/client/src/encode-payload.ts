import { encodeFromObject, firstMessageType, InvalidArgumentError } from '../../core/src/index.js';
import { InvalidInputError } from './input-error.js';

/**
 * Turns JSON text (worker settings, job args) into protobuf bytes of the first message of the
 * runner's schema text. A runner with an empty schema takes the text as is (raw bytes). Bad JSON, a value of the
 * wrong type or a field the schema does not know is an InvalidInputError naming the option (and the field).
 */
export function encodePayload(schemaText: string, text: string, option: string): Buffer {
  let type;
  try {
    type = firstMessageType(schemaText, `the runner's schema for ${option}`);
  } catch (err) {
    throw new InvalidInputError((err as Error).message, { cause: err });
  }
  if (type === undefined) return Buffer.from(text, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${option} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return Buffer.from(encodeFromObject(schemaText, value, option));
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidInputError(err.message, { cause: err });
    throw err;
  }
}
