import type { MethodDefinition } from '@grpc/grpc-js';

const raw = (bytes: Buffer): Buffer => bytes;

/**
 * A unary method at `path` (server-streaming with `responseStream`) whose requests and responses are raw bytes: no
 * (de)serialization either way.
 */
export function rawUnaryMethod(path: string, responseStream = false): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}
