import type { Job, JobResult } from '../../core/src/index.js';
import { decodeJob, decodeJobResult, encodeJob, encodeJobResult } from '../../core/src/index.js';

/**
 * Protobuf bytes as the Redis adapters store and publish them. Decoding hands back plain Uint8Arrays (views, no copy)
 * where the protobuf decoder makes Buffers, so a job comes out of Redis exactly as it went in.
 */
export const redisCodec = {
  encodeJob(job: Job): Buffer {
    return asBuffer(encodeJob(job));
  },
  decodeJob(bytes: Buffer): Job {
    const job = decodeJob(bytes);
    return { ...job, args: plain(job.args) };
  },
  encodeJobResult(result: JobResult): Buffer {
    return asBuffer(encodeJobResult(result));
  },
  decodeJobResult(bytes: Buffer): JobResult {
    const result = decodeJobResult(bytes);
    return { ...result, args: plain(result.args), output: result.output.map(plain) };
  },
};

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
