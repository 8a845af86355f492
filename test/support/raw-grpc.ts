import type { MethodDefinition } from '@grpc/grpc-js';

const raw = (bytes: Buffer): Buffer => bytes;

/** A unary method at `path` whose requests and responses are raw bytes: no (de)serialization either way. */
export function rawUnaryMethod(path: string): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}
