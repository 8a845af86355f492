import { describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/src/index.js';
import { encodeJobResult, jobResultToProto, Priority, ResponseType, ResultStatus } from '../../core/src/index.js';
import { CreateJobResponse, JobResultServiceService, JobServiceService } from '../../proto/src/index.js';
import { createJobResponseBytes, preEncoded, PreEncodedReply, withPreEncodedReplies } from './pre-encoded-reply.js';

function result(jobId: number, output: readonly Uint8Array[]): JobResult {
  return {
    id: jobId + 1,
    jobId,
    workerId: 3,
    workerName: 'echo',
    args: new Uint8Array([1]),
    uniqKey: undefined,
    status: ResultStatus.SUCCESS,
    output,
    retried: 0,
    maxRetry: 0,
    priority: Priority.PRIORITY_MEDIUM,
    timeout: 0,
    enqueueTime: 1_700_000_000_000,
    runAfterTime: 0,
    startTime: 0,
    endTime: 0,
    responseType: ResponseType.DIRECT,
    storeSuccess: false,
    storeFailure: false,
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('createJobResponseBytes', () => {
  it.each([0, 1, 127, 128, 2 ** 32, 7_300_000_000_000_000, Number.MAX_SAFE_INTEGER])(
    'frames a result exactly as the generated encoder does (job id %d)',
    (jobId) => {
      for (const output of [[], [new Uint8Array(100_000).fill(9)]]) {
        const r = result(jobId, output);
        const expected = CreateJobResponse.encode({ id: { value: jobId }, result: jobResultToProto(r) }).finish();
        expect(hex(createJobResponseBytes(jobId, encodeJobResult(r)))).toBe(hex(expected));
      }
    },
  );

  it('frames an empty result (all defaults) as a present but empty field 2', () => {
    const expected = CreateJobResponse.encode({
      id: { value: 5 },
      result: { id: undefined, data: undefined },
    }).finish();
    const bytes = createJobResponseBytes(5, new Uint8Array(0));
    expect(hex(bytes)).toBe(hex(expected));
    expect(CreateJobResponse.decode(bytes).result).toBeDefined();
  });
});

describe('withPreEncodedReplies', () => {
  it('writes a PreEncodedReply as it is and encodes any other reply with the generated encoder', () => {
    const enqueue = withPreEncodedReplies(JobServiceService).enqueue!;
    const bytes = createJobResponseBytes(9, encodeJobResult(result(9, [])));
    expect(enqueue.responseSerialize(preEncoded<CreateJobResponse>(bytes))).toBe(bytes);
    const plain = { id: { value: 9 }, result: undefined };
    expect(hex(enqueue.responseSerialize(plain))).toBe(hex(CreateJobResponse.encode(plain).finish()));
    // the rest of each method definition is unchanged
    expect({ ...enqueue, responseSerialize: undefined }).toEqual({
      ...JobServiceService.enqueue,
      responseSerialize: undefined,
    });
  });

  it('wraps every method of a service, streaming ones too', () => {
    const wrapped = withPreEncodedReplies(JobResultServiceService);
    expect(Object.keys(wrapped)).toEqual(Object.keys(JobResultServiceService));
    const r = encodeJobResult(result(4, [new Uint8Array([1, 2])]));
    const out = wrapped.listenStreamByWorker!.responseSerialize(new PreEncodedReply(r));
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(hex(out)).toBe(hex(r));
  });
});
