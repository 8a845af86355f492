import { describe, expect, it } from 'vitest';
import { RetryType } from '../../../../core/src/index.js';
import { HttpRequestArgs, HttpRequestRunnerSettings } from '../../../../proto/src/index.js';
import { HttpError } from '../http-listener.js';
import { cronOf, parsePushRequest } from './poussetaches-api.js';
import { pushWorkerSpec } from './push-worker.js';
import { lastError, pushArgs, pushOf } from './tasks.js';

const refusal = (body: unknown): HttpError => {
  try {
    parsePushRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return err as HttpError;
  }
  return expect.fail('expected a refusal');
};

describe('parsePushRequest', () => {
  it('takes url and payload, with expected 200, no schedule and no delay by default', () => {
    const push = parsePushRequest({ url: 'https://app.example/task', payload: 'aGk=' });
    expect(push).toEqual({
      url: 'https://app.example/task',
      payload: Buffer.from('hi'),
      expected: 200,
      schedule: undefined,
      delayMinutes: 0,
    });
    const full = parsePushRequest({
      url: 'http://a/',
      payload: '',
      expected: 204,
      schedule: '*/5 * * * * *',
      delay: 2,
    });
    expect(full).toMatchObject({ expected: 204, schedule: '*/5 * * * * *', delayMinutes: 2 });
  });

  it.each([
    [null, /must be a JSON object/],
    ['text', /must be a JSON object/],
    [{ payload: '' }, /url is required/],
    [{ url: 'http://a/' }, /payload is required/],
    [{ url: ['http://a/'], payload: '' }, /url must be a string, not an array/],
    [{ url: 'app/task', payload: '' }, /is not an absolute URL/],
    [{ url: 'gopher://a/', payload: '' }, /must use http or https/],
    [{ url: 'http://u:secret@a/', payload: '' }, /must not contain credentials/],
    [{ url: 'http://a/', payload: 'aGk' }, /payload is not valid base64/],
    [{ url: 'http://a/', payload: 5 }, /payload must be a base64 string, not a number/],
    [{ url: 'http://a/', payload: '', expected: 200.5 }, /expected must be an HTTP status code/],
    [{ url: 'http://a/', payload: '', expected: 600 }, /expected must be an HTTP status code/],
    [{ url: 'http://a/', payload: '', delay: '1' }, /delay must be a number of minutes/],
    [{ url: 'http://a/', payload: '', schedule: '61 * * * * *' }, /schedule is not a valid cron spec/],
    [{ url: 'http://a/', payload: '', schedule: '@every 1h' }, /@every is not supported/],
  ])('refuses %j with 400 naming the problem', (body, message) => {
    const error = refusal(body);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('secret');
  });
});

describe('cronOf', () => {
  it("reads poussetaches' 5 fields as seconds first (robfig/cron v1), and keeps 6 fields and @ shortcuts", () => {
    expect(cronOf('0 30 * * *')).toBe('0 30 * * * *');
    expect(cronOf('*/2 * * * * *')).toBe('*/2 * * * * *');
    expect(cronOf('@hourly')).toBe('@hourly');
  });
});

describe('push tasks', () => {
  it('round-trips a push through job args as a POST with its expected status', () => {
    const args = pushArgs({ url: 'http://a/x', payload: Buffer.from([0, 255]), expected: 202 });
    expect(HttpRequestArgs.decode(args)).toMatchObject({ method: 'POST', path: 'http://a/x', expectedStatus: 202 });
    expect(pushOf(args)).toEqual({ url: 'http://a/x', payload: Buffer.from([0, 255]), expected: 202 });
  });

  it('reports the last answer of a failed attempt, or -1 when there was none', () => {
    expect(lastError([Buffer.from('connect ECONNREFUSED')])).toEqual({
      status: -1,
      body: Buffer.from('connect ECONNREFUSED').toString('base64'),
    });
  });
});

describe('pushWorkerSpec', () => {
  it('is an HTTP_REQUEST worker that signs, retries 4x longer each time, and keeps its tasks in the RDB', () => {
    const spec = pushWorkerSpec({
      workerName: 'push',
      authKey: 'k',
      maxTries: 11,
      retryBaseMs: 1000,
      requestTimeoutMs: 5000,
    });
    expect(spec.retryPolicy).toEqual({
      type: RetryType.EXPONENTIAL,
      interval: 1000,
      maxInterval: 0,
      maxRetry: 10,
      basis: 4,
    });
    expect(HttpRequestRunnerSettings.decode(spec.runnerSettings)).toMatchObject({
      allowAnyOrigin: true,
      pushEnvelope: true,
      requestTimeoutMs: 5000,
      pauseSwitch: 'poussetaches:push',
      sharedKeyHeader: { name: 'Poussetaches-Auth-Key', key: 'k' },
    });
    const unsigned = pushWorkerSpec({
      workerName: 'p',
      authKey: undefined,
      maxTries: 1,
      retryBaseMs: 1,
      requestTimeoutMs: 1,
    });
    expect(HttpRequestRunnerSettings.decode(unsigned.runnerSettings).sharedKeyHeader).toBeUndefined();
  });
});
