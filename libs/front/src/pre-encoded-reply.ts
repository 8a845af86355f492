/**
 * Replies whose bytes exist already. A final result reaches the front as the JobResult message its worker encoded
 * (libs/core/src/encoded-job-result.ts); decoding it only for grpc-js to encode it again would be wasted work on the
 * hottest path (DIRECT Enqueue, Listen, ListenStreamByWorker). So a handler may answer with a PreEncodedReply, and
 * the server's response serializers (wrapped by withPreEncodedReplies) write its bytes as they are.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { encodeFields } from '../../core/src/index.js';

/** The encoded reply message. Only servers whose definitions went through withPreEncodedReplies can send it. */
export class PreEncodedReply {
  readonly bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

/**
 * A reply of type T given as its encoded bytes. The caller vouches that the bytes are a T message: the generated
 * handler types know only T, hence the cast, kept to this one place.
 */
export function preEncoded<T>(bytes: Uint8Array): T {
  return new PreEncodedReply(bytes) as unknown as T;
}

/**
 * jobworkerp.service.CreateJobResponse { id = 1 (JobId { value = 1 }), result = 2 (JobResult) } around a result
 * already encoded, byte for byte what the generated encoder writes for the same message.
 */
export function createJobResponseBytes(jobId: number, result: Uint8Array): Buffer {
  // proto3 leaves a zero value out; the JobId message itself is always written, as the generated encoder does
  const id = encodeFields(jobId === 0 ? [] : [{ field: 1, varint: jobId }]);
  return encodeFields([
    { field: 1, bytes: id },
    { field: 2, bytes: result },
  ]);
}

/** The same service whose response serializers pass a PreEncodedReply through and encode anything else as before. */
export function withPreEncodedReplies(definition: ServiceDefinition): ServiceDefinition {
  const wrapped: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const serialize = method.responseSerialize;
    wrapped[name] = {
      ...method,
      responseSerialize: (value: unknown): Buffer =>
        value instanceof PreEncodedReply ? value.bytes : serialize(value),
    };
  }
  return wrapped;
}
