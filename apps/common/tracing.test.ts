/**
 * The OpenTelemetry JobTracer in process, against a local OTLP/HTTP receiver: parents follow the trace contexts
 * given, contexts survive the text form jobs carry, failures mark spans, and shutdown sends what is buffered.
 * Traces across real processes are checked in test/e2e/traces.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../libs/core/src/index.js';
import { silentLogger, traceContextFrom } from '../../libs/core/src/index.js';
import type { OtlpReceiver } from '../../test/support/otlp-receiver.js';
import { startOtlpReceiver } from '../../test/support/otlp-receiver.js';
import type { Tracing } from './tracing.js';
import { startTracing, tracesUrl } from './tracing.js';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracing over OTLP/HTTP', () => {
  let receiver: OtlpReceiver | undefined;
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('sends spans whose parents are the contexts given, and flushes them at shutdown', async () => {
    receiver = await startOtlpReceiver();
    // a long export interval: only shutdown sends them
    tracing = startTracing({
      otlpAddr: `${receiver.url}/`,
      serviceName: 'jobworkerp-test',
      serviceVersion: '0.0.0',
      logger: silentLogger,
      exportIntervalMs: 600_000,
    });
    expect(tracing.endpoint).toBe(`${receiver.url}/v1/traces`);
    const { tracer } = tracing;
    const call = tracer.start(
      'jobworkerp.service.JobService/Enqueue',
      'server',
      { traceparent: CALLER },
      {
        'rpc.system': 'grpc',
      },
    );
    const carried = call.context();
    expect(carried.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    // the context as a job carries it, through the same parsing a caller's header gets
    const run = tracer.start('process ch', 'consumer', traceContextFrom(carried.traceparent, undefined), {
      'jobworkerp.job.id': 7,
    });
    run.setAttributes({ 'jobworkerp.result.status': 'FATAL_ERROR' });
    run.fail('the run ended with FATAL_ERROR');
    const child = tracer.start('process next', 'consumer', run.context());
    child.end();
    run.end();
    call.fail(new Error('worker "x" does not exist'));
    call.end();
    const orphan = tracer.start('process lone', 'consumer', undefined);
    orphan.end();
    expect(receiver.spans).toEqual([]);

    await tracing.shutdown();
    const spans = receiver.spans;
    expect(spans).toHaveLength(4);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const enqueue = byName.get('jobworkerp.service.JobService/Enqueue')!;
    const runSpan = byName.get('process ch')!;
    const next = byName.get('process next')!;
    const lone = byName.get('process lone')!;
    expect(spans.every((s) => s.serviceName === 'jobworkerp-test')).toBe(true);
    expect(enqueue).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      kind: 2,
      statusCode: 2,
      statusMessage: 'worker "x" does not exist',
    });
    expect(runSpan).toMatchObject({
      traceId: enqueue.traceId,
      parentSpanId: enqueue.spanId,
      kind: 5,
      statusCode: 2,
      attributes: { 'jobworkerp.job.id': 7, 'jobworkerp.result.status': 'FATAL_ERROR' },
    });
    expect(next).toMatchObject({ traceId: enqueue.traceId, parentSpanId: runSpan.spanId, statusCode: 0 });
    expect(lone.traceId).not.toBe(enqueue.traceId);
    expect(lone.parentSpanId).toBe('');
    expect(receiver.refused).toBe(0);
  });

  it('keeps a tracestate the caller gave, and follows an unsampled caller by recording nothing', async () => {
    receiver = await startOtlpReceiver();
    tracing = startTracing({ otlpAddr: receiver.url, serviceName: 's', serviceVersion: '0', logger: silentLogger });
    const withState = tracing.tracer.start('a', 'server', { traceparent: CALLER, tracestate: 'vendor=x' });
    expect(withState.context().tracestate).toBe('vendor=x');
    withState.end();
    const unsampled = tracing.tracer.start('b', 'server', {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
    });
    // its jobs carry the caller's decision on
    expect(unsampled.context().traceparent).toMatch(/-00$/);
    unsampled.end();
    await tracing.shutdown();
    expect(receiver.spans.map((s) => s.name)).toEqual(['a']);
  });

  it('warns, without the address, when the collector cannot be reached, and still shuts down', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (obj: object | string, msg?: string) => warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    };
    receiver = await startOtlpReceiver();
    const gone = receiver.url;
    await receiver.close();
    receiver = undefined;
    tracing = startTracing({
      otlpAddr: gone.replace('http://', 'http://user:s3cret@'),
      serviceName: 's',
      serviceVersion: '0',
      logger,
      exportIntervalMs: 10,
    });
    expect(tracing.endpoint).not.toContain('s3cret');
    tracing.tracer.start('x', 'internal', undefined).end();
    await tracing.shutdown();
    expect(warnings.join('\n')).toMatch(/tracing: /);
    expect(warnings.join('\n')).not.toContain('s3cret');
  });

  it('appends /v1/traces to the collector address unless it is there', () => {
    expect(tracesUrl('http://c:4318')).toBe('http://c:4318/v1/traces');
    expect(tracesUrl('http://c:4318/otlp/')).toBe('http://c:4318/otlp/v1/traces');
    expect(tracesUrl('https://c/v1/traces')).toBe('https://c/v1/traces');
  });
});
