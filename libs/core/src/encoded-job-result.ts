/**
 * A final result on its way from the worker that produced it to the clients waiting for it. It is encoded at most
 * once, as the jobworkerp.data.JobResult message, and those bytes are what travels: on the result channels, into the
 * kept results, and out of the front to the client (see libs/front/src/pre-encoded-reply.ts). Decoding is left to the
 * few consumers that need fields, and happens at most once too.
 */
import { isUtf8 } from 'node:buffer';
import { decodeJobResult, encodeJobResult } from './convert.js';
import { InvalidArgumentError } from './errors.js';
import type { JobResult } from './model.js';
import { WireReader, WireType } from './protobuf-wire.js';

/** What a field of the JobResult schema holds: a scalar in a varint, UTF-8 text, bytes, or a nested message. */
type FieldKind = 'varint' | 'string' | 'bytes' | MessageSchema;
interface MessageSchema {
  readonly [field: number]: { readonly name: string; readonly kind: FieldKind } | undefined;
}

// the schema of jobworkerp.data.JobResult (proto/jobworkerp/data/job_result.proto); the id messages are distinct
// objects so the check can tell which id it is reading
const JOB_RESULT_ID: MessageSchema = { 1: { name: 'value', kind: 'varint' } };
const JOB_ID: MessageSchema = { 1: { name: 'value', kind: 'varint' } };
const WORKER_ID: MessageSchema = { 1: { name: 'value', kind: 'varint' } };
const RESULT_OUTPUT: MessageSchema = { 1: { name: 'items', kind: 'bytes' } };
const JOB_RESULT_DATA: MessageSchema = {
  1: { name: 'job_id', kind: JOB_ID },
  2: { name: 'worker_id', kind: WORKER_ID },
  3: { name: 'worker_name', kind: 'string' },
  4: { name: 'args', kind: 'bytes' },
  5: { name: 'uniq_key', kind: 'string' },
  6: { name: 'status', kind: 'varint' },
  7: { name: 'output', kind: RESULT_OUTPUT },
  8: { name: 'retried', kind: 'varint' },
  9: { name: 'max_retry', kind: 'varint' },
  10: { name: 'priority', kind: 'varint' },
  11: { name: 'timeout', kind: 'varint' },
  12: { name: 'enqueue_time', kind: 'varint' },
  13: { name: 'run_after_time', kind: 'varint' },
  14: { name: 'start_time', kind: 'varint' },
  15: { name: 'end_time', kind: 'varint' },
  16: { name: 'response_type', kind: 'varint' },
  17: { name: 'store_success', kind: 'varint' },
  18: { name: 'store_failure', kind: 'varint' },
};
const JOB_RESULT: MessageSchema = {
  1: { name: 'id', kind: JOB_RESULT_ID },
  2: { name: 'data', kind: JOB_RESULT_DATA },
};

export class EncodedJobResult {
  private encoded: Uint8Array | undefined;
  private decoded: JobResult | undefined;

  private constructor(
    encoded: Uint8Array | undefined,
    decoded: JobResult | undefined,
    readonly jobId: number,
    readonly workerId: number,
  ) {
    this.encoded = encoded;
    this.decoded = decoded;
  }

  /**
   * The result, to be encoded the first time its bytes are asked for (a result nobody waits for in this process is
   * never encoded); decode() returns this very object.
   */
  static of(result: JobResult): EncodedJobResult {
    return new EncodedJobResult(undefined, result, result.jobId, result.workerId);
  }

  /**
   * Takes bytes that should be a JobResult, after a check that costs far less than decoding them: the whole message
   * is well-formed wire format, every field this project knows has its wire type, text is UTF-8, and every number
   * is one a JavaScript decoder takes (a safe integer, no negative int64). So bytes that pass can be sent to a client
   * as they are, and decode() will not fail on them. Throws InvalidArgumentError saying what is wrong.
   */
  static parse(bytes: Uint8Array): EncodedJobResult {
    let jobId = 0;
    let workerId = 0;
    try {
      checkMessage(bytes, 0, bytes.byteLength, JOB_RESULT, (schema, value) => {
        if (schema === JOB_ID) jobId = value;
        else if (schema === WORKER_ID) workerId = value;
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new InvalidArgumentError(`the bytes are not a jobworkerp.data.JobResult: ${why}`, { cause: err });
    }
    return new EncodedJobResult(bytes, undefined, jobId, workerId);
  }

  /** The jobworkerp.data.JobResult message. */
  get bytes(): Uint8Array {
    this.encoded ??= encodeJobResult(this.decoded as JobResult);
    return this.encoded;
  }

  /** The result's fields, decoded on the first call. Byte fields are views of `bytes`, as plain Uint8Arrays. */
  decode(): JobResult {
    if (this.decoded === undefined) {
      const result = decodeJobResult(this.encoded as Uint8Array);
      this.decoded = { ...result, args: plain(result.args), output: result.output.map(plain) };
    }
    return this.decoded;
  }
}

/** Walks one message of the schema, throwing on the first problem; tells `onVarint` each varint of a known field. */
function checkMessage(
  bytes: Uint8Array,
  start: number,
  end: number,
  schema: MessageSchema,
  onVarint: (schema: MessageSchema, value: number) => void,
): void {
  const reader = new WireReader(bytes, start, end);
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    const known = schema[field];
    if (known === undefined) {
      reader.skip(wireType);
      continue;
    }
    const expected = known.kind === 'varint' ? WireType.VARINT : WireType.LEN;
    if (wireType !== expected) {
      throw new InvalidArgumentError(`${known.name} has wire type ${wireType}, not ${expected}`);
    }
    if (known.kind === 'varint') {
      const value = reader.varint();
      if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${known.name} is not a safe integer`);
      onVarint(schema, value);
      continue;
    }
    const value = reader.lengthDelimited();
    if (known.kind === 'string') {
      if (!isUtf8(bytes.subarray(value.start, value.end))) throw new InvalidArgumentError(`${known.name} is not UTF-8`);
    } else if (known.kind !== 'bytes') {
      try {
        checkMessage(bytes, value.start, value.end, known.kind, onVarint);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new InvalidArgumentError(
          why.startsWith('in ') ? `in ${known.name}.${why.slice(3)}` : `in ${known.name}: ${why}`,
        );
      }
    }
  }
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
