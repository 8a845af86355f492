import type { Job, TraceContext } from '../../core/src/index.js';
import { decodeJob, encodeJob, InternalError } from '../../core/src/index.js';

/**
 * Protobuf bytes as the Redis adapters store and publish them. Decoding hands back plain Uint8Arrays (views, no copy)
 * where the protobuf decoder makes Buffers, so a job comes out of Redis exactly as it went in.
 *
 * A job's payload is its Job protobuf; a job that carries a trace context has it in front, as
 * `0x00 traceparent '\n' tracestate '\n'` (tracestate may be empty). No protobuf message starts with a zero byte
 * (field number 0 does not exist), so the marker cannot be mistaken for a job, and a job without a trace context
 * costs nothing more than before.
 */
export const redisCodec = {
  encodeJob(job: Job): Buffer {
    const bytes = asBuffer(encodeJob(job));
    return job.trace === undefined ? bytes : Buffer.concat([traceSection(job.trace), bytes]);
  },
  decodeJob(bytes: Buffer): Job {
    if (bytes[0] === TRACE_MARKER) return decodeTracedJob(bytes);
    const job = decodeJob(bytes);
    return { ...job, args: plain(job.args) };
  },
  /** A job's record in the queue's jobs hash: a header (lane digit, channel, newline) followed by the job's payload. */
  decodeJobRecord(record: Buffer): Job {
    const end = record.indexOf(RECORD_HEADER_END, 1);
    if (end < 0) throw new InternalError('a job record in Redis has no header');
    return redisCodec.decodeJob(record.subarray(end + 1));
  },
};

/** ends the header of a job record; channel names cannot contain it (RedisQueue checks) */
export const RECORD_HEADER_END = 0x0a;
/** starts the trace section of a job's payload */
const TRACE_MARKER = 0x00;

function traceSection(trace: TraceContext): Buffer {
  return Buffer.from(`\0${trace.traceparent}\n${trace.tracestate ?? ''}\n`, 'latin1');
}

function decodeTracedJob(bytes: Buffer): Job {
  const parentEnd = bytes.indexOf(RECORD_HEADER_END, 1);
  const stateEnd = parentEnd < 0 ? -1 : bytes.indexOf(RECORD_HEADER_END, parentEnd + 1);
  if (stateEnd < 0) throw new InternalError('a job payload in Redis has a trace section without its end');
  const traceparent = bytes.toString('latin1', 1, parentEnd);
  const tracestate = bytes.toString('latin1', parentEnd + 1, stateEnd);
  const job = decodeJob(bytes.subarray(stateEnd + 1));
  return {
    ...job,
    args: plain(job.args),
    trace: tracestate === '' ? { traceparent } : { traceparent, tracestate },
  };
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
