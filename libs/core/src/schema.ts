/**
 * Runner schemas are proto source text; by convention the first message declared is the one used.
 * This module compiles such text (protobufjs) and checks or converts bytes against it.
 */
import protobuf from 'protobufjs';
import { clip, quote } from './echo-value.js';
import { InvalidArgumentError } from './errors.js';

export type MessageType = protobuf.Type;

const cache = new Map<string, MessageType | undefined>();

/**
 * The first message declared in proto source text, or undefined for an empty schema (raw bytes).
 * Throws InvalidArgumentError naming `what` when the text does not parse or declares no message.
 */
export function firstMessageType(protoText: string, what = 'schema'): MessageType | undefined {
  if (protoText.trim() === '') return undefined;
  if (cache.has(protoText)) return cache.get(protoText);
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(protoText, { keepCase: true });
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid proto source: ${clip((err as Error).message)}`, {
      cause: err,
    });
  }
  const type = findFirstType(parsed.root);
  if (type === undefined) throw new InvalidArgumentError(`${what} declares no message`);
  if (cache.size > 1000) cache.clear();
  cache.set(protoText, type);
  return type;
}

function findFirstType(ns: protobuf.NamespaceBase): MessageType | undefined {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) return nested;
    if (nested instanceof protobuf.Namespace) {
      const inner = findFirstType(nested);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/**
 * Checks that `bytes` are a valid encoding of the first message of `protoText`: every field number is declared and
 * every value decodes. Throws InvalidArgumentError naming `what`.
 */
export function checkBytesAgainstSchema(protoText: string, bytes: Uint8Array, what: string): void {
  const type = firstMessageType(protoText, `${what} schema`);
  if (type === undefined) return;
  const reader = protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const fieldNo = tag >>> 3;
      if (fieldNo === 0) throw new Error('field number 0 is not allowed');
      if (type.fieldsById[fieldNo] === undefined) {
        throw new Error(`field number ${fieldNo} is not declared in ${type.name}`);
      }
      reader.skipType(tag & 7);
    }
    type.decode(bytes);
  } catch (err) {
    throw new InvalidArgumentError(
      `${what} are not a valid protobuf ${type.name}: ${clip((err as Error).message)}; ` +
        `encode a ${type.name} message (see the runner's published schema)`,
      { cause: err },
    );
  }
}

/** Decodes bytes with the first message of the schema into a plain object (JSON-friendly), or text for raw bytes. */
export function decodeToObject(protoText: string, bytes: Uint8Array): unknown {
  const type = firstMessageType(protoText);
  if (type === undefined) return Buffer.from(bytes).toString('utf8');
  return type.toObject(type.decode(bytes), { longs: Number, enums: String, bytes: String, defaults: true });
}

/**
 * Encodes a JSON value with the first message of the schema. A field the schema does not know is an error that
 * names it. For an empty schema the value must be a string and its UTF-8 bytes are sent.
 */
export function encodeFromObject(protoText: string, value: unknown, what = 'value'): Uint8Array {
  const type = firstMessageType(protoText, `${what} schema`);
  if (type === undefined) {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`${what} takes raw text (the runner has no schema); pass a JSON string`);
    }
    return Buffer.from(value, 'utf8');
  }
  const message = withFieldNames(type, value, what);
  const problem = type.verify(message);
  if (problem !== null) throw new InvalidArgumentError(`${what} does not match ${type.name}: ${problem}`);
  return type.encode(type.fromObject(message)).finish();
}

/**
 * A copy of a JSON object whose keys are the schema's field names (proto names like `base_url`; JSON names like
 * `baseUrl` are accepted too), nested messages included. A key the schema does not know is an error naming it.
 */
function withFieldNames(type: MessageType, value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${path} must be a JSON object for ${type.name}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => camel(f.name) === key);
    if (field === undefined) {
      const known = Object.keys(type.fields).join(', ');
      throw new InvalidArgumentError(`${path}: ${type.name} has no field ${quote(key)} (fields: ${known})`);
    }
    field.resolve();
    const nested = field.resolvedType;
    if (nested instanceof protobuf.Type && v !== null && v !== undefined) {
      out[field.name] =
        field.repeated && Array.isArray(v)
          ? v.map((item, i) => withFieldNames(nested, item, `${path}.${key}[${i}]`))
          : withFieldNames(nested, v, `${path}.${key}`);
    } else {
      out[field.name] = v;
    }
  }
  return out;
}

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
