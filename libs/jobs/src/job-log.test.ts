/** The fields of a log line about a job. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHANNEL } from '../../config/src/index.js';
import { jobLogFields } from './job-log.js';

const job = { id: 42, workerId: 7 };

describe('jobLogFields', () => {
  it('names the job, its worker and the worker’s channel (the default one by its name)', () => {
    expect(jobLogFields(job, { name: 'mailer', channel: 'mail' })).toEqual({
      jobId: 42,
      workerId: 7,
      worker: 'mailer',
      channel: 'mail',
    });
    expect(jobLogFields(job, { name: 'mailer', channel: undefined })).toEqual({
      jobId: 42,
      workerId: 7,
      worker: 'mailer',
      channel: DEFAULT_CHANNEL,
    });
  });

  it('a job whose worker is gone: its ids, and the channel when the caller knows it', () => {
    expect(jobLogFields(job, undefined)).toEqual({ jobId: 42, workerId: 7 });
    expect(jobLogFields(job, undefined, 'mail')).toEqual({ jobId: 42, workerId: 7, channel: 'mail' });
  });
});
