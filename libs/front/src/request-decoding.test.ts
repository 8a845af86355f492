import { describe, expect, it } from 'vitest';
import { JobResultServiceService, JobServiceService } from '../../proto/src/index.js';
import { varintField } from '../../../test/support/protobuf-bytes.js';
import { MalformedRequest, withCheckedDecoding } from './request-decoding.js';

const field = varintField;

describe('withCheckedDecoding', () => {
  const enqueue = withCheckedDecoding(JobServiceService)['enqueue']!;

  it.each([
    [
      'timeout 2^64 − 1',
      field(7, 2n ** 64n - 1n),
      'timeout is 18446744073709551615, out of range: it must be between 0 and 9007199254740991',
    ],
    [
      'run_after_time 2^62',
      field(5, 2n ** 62n),
      'run_after_time is 4611686018427387904, out of range: it must be between -9007199254740991 and 9007199254740991',
    ],
  ])('names the field and its range for %s', (_what, bytes, expected) => {
    const decoded = enqueue.requestDeserialize(Buffer.from(bytes));
    expect(decoded).toBeInstanceOf(MalformedRequest);
    expect((decoded as MalformedRequest).problem).toBe(`${expected} (2^53 − 1 is the largest)`);
  });

  it('names a nested field by its path', () => {
    const listen = withCheckedDecoding(JobResultServiceService)['listen']!;
    const inner = field(1, 2n ** 60n);
    const decoded = listen.requestDeserialize(Buffer.from([(1 << 3) | 2, inner.length, ...inner]));
    expect(decoded).toBeInstanceOf(MalformedRequest);
    expect((decoded as MalformedRequest).problem).toMatch(/^job_id\.value is 1152921504606846976, out of range/);
  });

  it('says why bytes are not the request message', () => {
    const decoded = enqueue.requestDeserialize(Buffer.from([0x0f]));
    expect((decoded as MalformedRequest).problem).toMatch(/^the request is not a valid protobuf JobRequest: /);
  });

  it('decodes a valid request as before', () => {
    const decoded = enqueue.requestDeserialize(Buffer.from(field(7, 1000n)));
    expect(decoded).toMatchObject({ timeout: 1000 });
  });
});
