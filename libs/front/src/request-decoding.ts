/**
 * Request decoding that says what is wrong. grpc-js answers every request its deserializer cannot decode with a bare
 * INTERNAL "Error deserializing request"; here a request that does not decode becomes a MalformedRequest, which the
 * handlers (handlers.ts) answer with INVALID_ARGUMENT naming the problem: the 64-bit field whose value is beyond what
 * a JavaScript number holds exactly (with its range), or why the bytes are not the request message.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { clip } from '../../core/src/index.js';
import { fileDescriptorSetBase64 } from '../../proto/src/index.js';

/** What a request that could not be decoded turns into; `problem` is the message for the client. */
export class MalformedRequest {
  constructor(readonly problem: string) {}
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_TYPES = new Set(['uint64', 'fixed64']);

let root: protobuf.Root | undefined;

function schemaRoot(): protobuf.Root {
  if (root === undefined) {
    const set = descriptor.FileDescriptorSet.decode(Buffer.from(fileDescriptorSetBase64, 'base64'));
    root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor(set);
    root.resolveAll();
  }
  return root;
}

/** The request message type of a method path like `/jobworkerp.service.JobService/Enqueue`. */
function requestTypeOf(path: string): protobuf.Type | undefined {
  const [, service, method] = path.split('/');
  if (service === undefined || method === undefined) return undefined;
  try {
    return schemaRoot().lookupService(service).methods[method]?.resolvedRequestType ?? undefined;
  } catch {
    return undefined;
  }
}

/** The same service whose request deserializers never throw: what they cannot decode becomes a MalformedRequest. */
export function withCheckedDecoding(definition: ServiceDefinition): ServiceDefinition {
  const checked: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    checked[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (err) {
          return new MalformedRequest(describeUndecodable(method.path, bytes, err));
        }
      },
    };
  }
  return checked;
}

/** Why a request does not decode, as the client should read it. */
export function describeUndecodable(path: string, bytes: Uint8Array, err: unknown): string {
  const type = requestTypeOf(path);
  const reason = clip(err instanceof Error ? err.message : String(err));
  if (type === undefined) return `the request is not a valid protobuf message: ${reason}`;
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (decodeErr) {
    const why = clip(decodeErr instanceof Error ? decodeErr.message : String(decodeErr));
    return `the request is not a valid protobuf ${type.name}: ${why}`;
  }
  const field = firstUnsafeLong(type, message, '');
  if (field !== undefined) {
    const { path: name, value, unsigned } = field;
    const range = unsigned
      ? `0 and ${Number.MAX_SAFE_INTEGER}`
      : `${-Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;
    return `${name} is ${value}, out of range: it must be between ${range} (2^53 − 1 is the largest)`;
  }
  return `the request is not a valid protobuf ${type.name}: ${reason}`;
}

interface UnsafeLong {
  readonly path: string;
  readonly value: string;
  readonly unsigned: boolean;
}

/** The first 64-bit field (depth first, nested messages included) whose value is not a safe JavaScript integer. */
function firstUnsafeLong(type: protobuf.Type, message: protobuf.Message, prefix: string): UnsafeLong | undefined {
  const values = message as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const value = values[field.name];
    if (value === undefined || value === null) continue;
    const path = `${prefix}${field.name}`;
    const items: unknown[] = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (LONG_TYPES.has(field.type)) {
        const text = String(item);
        if (!Number.isSafeInteger(Number(text))) return { path, value: text, unsigned: UNSIGNED_TYPES.has(field.type) };
      } else if (field.resolvedType instanceof protobuf.Type && typeof item === 'object') {
        const inner = firstUnsafeLong(field.resolvedType, item as protobuf.Message, `${path}.`);
        if (inner !== undefined) return inner;
      }
    }
  }
  return undefined;
}
