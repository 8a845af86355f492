import { decodeToObject } from '../../core/src/index.js';
import type { JsonValue } from './json-value.js';

/**
 * Protobuf bytes shown through the runner's schema text (first message) as a JSON value. Without a schema (or when
 * the bytes do not decode with it, as with an error message in a failed result) they are shown as UTF-8 text.
 */
export function decodePayload(schemaText: string | undefined, bytes: Uint8Array): JsonValue {
  if (schemaText !== undefined && schemaText.trim() !== '') {
    try {
      return JSON.parse(JSON.stringify(decodeToObject(schemaText, bytes))) as JsonValue;
    } catch {
      // not an encoding of the schema's message: fall through to text
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
