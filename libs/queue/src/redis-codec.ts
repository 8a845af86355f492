import type { Job } from '../../core/src/index.js';
import { decodeJob, encodeJob, InternalError } from '../../core/src/index.js';

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
  /** A job's record in the queue's jobs hash: a header (lane digit, channel, newline) followed by the Job protobuf. */
  decodeJobRecord(record: Buffer): Job {
    const end = record.indexOf(RECORD_HEADER_END, 1);
    if (end < 0) throw new InternalError('a job record in Redis has no header');
    return redisCodec.decodeJob(record.subarray(end + 1));
  },
};

/** ends the header of a job record; channel names cannot contain it (RedisQueue checks) */
export const RECORD_HEADER_END = 0x0a;

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
