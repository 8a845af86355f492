/**
 * The prom-client side of the metrics, in process: events in, exposition text out, read back sample by sample; and
 * the HTTP endpoint that serves it. The metrics of a running cluster are checked in test/e2e/metrics.test.ts.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ResultStatus, silentLogger } from '../../libs/core/src/index.js';
import { sampleSum, sampleValue } from '../../test/support/metrics-text.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import { startMetricsEndpoint } from './metrics-endpoint.js';
import { createProcessMetrics, DELETED_WORKER_LABEL, OTHER_LABEL } from './metrics.js';

describe('process metrics', () => {
  it('counts what the lifecycle, the queue, the handlers and the databases tell, by their labels', async () => {
    const m = createProcessMetrics(silentLogger);
    const e = m.jobEvents;
    e.onEnqueued('a', 'default');
    e.onEnqueued('a', 'default');
    e.onEnqueued('b', 'heavy');
    e.onStarted('a', 4);
    e.onStarted('a', 2_000);
    e.onRunEnded('a', 30);
    e.onRetry('a');
    e.onFinished('a', ResultStatus.SUCCESS);
    e.onFinished('a', ResultStatus.MAX_RETRY);
    e.onFinished(undefined, ResultStatus.OTHER_ERROR);
    e.onDeadLetter('a');
    e.onGivenBack('default');
    e.onLeaseLost('b');
    m.leasesLapsed('heavy', 3);
    m.grpcCall('JobService/Enqueue', status.OK);
    m.grpcCall('JobService/Enqueue', status.OK);
    m.grpcCall('JobService/Enqueue', status.NOT_FOUND);
    m.redisError();
    m.dbError('unavailable');

    const text = await m.text();
    const v = (name: string, labels: Record<string, string> = {}): number | undefined =>
      sampleValue(text, name, labels);
    expect(v('jobworkerp_jobs_enqueued_total', { worker: 'a', channel: 'default' })).toBe(2);
    expect(v('jobworkerp_jobs_enqueued_total', { worker: 'b', channel: 'heavy' })).toBe(1);
    expect(v('jobworkerp_jobs_finished_total', { worker: 'a', status: 'SUCCESS' })).toBe(1);
    expect(v('jobworkerp_jobs_finished_total', { worker: 'a', status: 'MAX_RETRY' })).toBe(1);
    expect(v('jobworkerp_jobs_finished_total', { worker: DELETED_WORKER_LABEL, status: 'OTHER_ERROR' })).toBe(1);
    expect(v('jobworkerp_job_retries_total', { worker: 'a' })).toBe(1);
    expect(v('jobworkerp_dead_letters_total', { worker: 'a' })).toBe(1);
    expect(v('jobworkerp_lease_expiries_total', { channel: 'heavy' })).toBe(3);
    expect(v('jobworkerp_job_redeliveries_total', { channel: 'heavy', reason: 'lease_expired' })).toBe(3);
    expect(v('jobworkerp_job_redeliveries_total', { channel: 'default', reason: 'given_back' })).toBe(1);
    expect(v('jobworkerp_leases_lost_total', { worker: 'b' })).toBe(1);
    expect(v('jobworkerp_grpc_calls_total', { method: 'JobService/Enqueue', code: 'OK' })).toBe(2);
    expect(v('jobworkerp_grpc_calls_total', { method: 'JobService/Enqueue', code: 'NOT_FOUND' })).toBe(1);
    expect(v('jobworkerp_redis_errors_total')).toBe(1);
    expect(v('jobworkerp_db_errors_total', { kind: 'unavailable' })).toBe(1);
    // histograms in seconds: 4 ms and 2 s started, one 30 ms run
    expect(v('jobworkerp_job_start_latency_seconds_count', { worker: 'a' })).toBe(2);
    expect(v('jobworkerp_job_start_latency_seconds_sum', { worker: 'a' })).toBeCloseTo(2.004);
    expect(v('jobworkerp_job_start_latency_seconds_bucket', { worker: 'a', le: '0.005' })).toBe(1);
    expect(v('jobworkerp_job_start_latency_seconds_bucket', { worker: 'a', le: '2.5' })).toBe(2);
    expect(v('jobworkerp_job_run_duration_seconds_count', { worker: 'a' })).toBe(1);
    expect(v('jobworkerp_job_run_duration_seconds_bucket', { worker: 'a', le: '0.01' })).toBe(0);
    expect(v('jobworkerp_job_run_duration_seconds_bucket', { worker: 'a', le: '0.05' })).toBe(1);
    // the process defaults
    expect(v('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('keeps at most the configured number of worker and channel names; later ones count as "(other)"', async () => {
    const m = createProcessMetrics(silentLogger, { maxLabelValues: 2 });
    for (const w of ['w1', 'w2', 'w3', 'w4', 'w1']) m.jobEvents.onEnqueued(w, `ch-${w}`);
    const text = await m.text();
    expect(sampleValue(text, 'jobworkerp_jobs_enqueued_total', { worker: 'w1', channel: 'ch-w1' })).toBe(2);
    expect(sampleValue(text, 'jobworkerp_jobs_enqueued_total', { worker: 'w2', channel: 'ch-w2' })).toBe(1);
    expect(sampleValue(text, 'jobworkerp_jobs_enqueued_total', { worker: OTHER_LABEL, channel: OTHER_LABEL })).toBe(2);
    expect(sampleSum(text, 'jobworkerp_jobs_enqueued_total')).toBe(5);
    expect(text).not.toContain('w3');
  });

  it('reads the waiting and running jobs per channel once per scrape, and scrapes without them when that fails', async () => {
    const m = createProcessMetrics(silentLogger);
    let reads = 0;
    m.setChannelStats(async () => {
      reads += 1;
      return [
        { channel: 'default', waiting: 5, running: 2 },
        { channel: 'heavy', waiting: 0, running: 1 },
      ];
    });
    const text = await m.text();
    expect(reads).toBe(1);
    expect(sampleValue(text, 'jobworkerp_jobs_waiting', { channel: 'default' })).toBe(5);
    expect(sampleValue(text, 'jobworkerp_jobs_running', { channel: 'default' })).toBe(2);
    expect(sampleValue(text, 'jobworkerp_jobs_waiting', { channel: 'heavy' })).toBe(0);
    expect(sampleValue(text, 'jobworkerp_jobs_running', { channel: 'heavy' })).toBe(1);

    m.setChannelStats(() => Promise.reject(new Error('redis unavailable')));
    const later = await m.text();
    expect(sampleValue(later, 'jobworkerp_jobs_waiting', { channel: 'default' })).toBeUndefined();
    expect(later).toContain('# TYPE jobworkerp_jobs_waiting gauge');
  });
});

describe('metrics endpoint', () => {
  let endpoint: MetricsEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  it('serves GET /metrics in the text format, 404 elsewhere, 405 for other methods', async () => {
    const metrics = createProcessMetrics(silentLogger);
    metrics.jobEvents.onEnqueued('w', 'default');
    endpoint = await startMetricsEndpoint({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger });
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}/metrics`);

    const ok = await fetch(endpoint.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(sampleValue(await ok.text(), 'jobworkerp_jobs_enqueued_total', { worker: 'w', channel: 'default' })).toBe(1);

    const head = await fetch(endpoint.url, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`http://127.0.0.1:${endpoint.port}/healthz`)).status).toBe(404);
    const post = await fetch(endpoint.url, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('says which address it could not listen on', async () => {
    const metrics = createProcessMetrics(silentLogger);
    endpoint = await startMetricsEndpoint({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger });
    await expect(
      startMetricsEndpoint({ host: '127.0.0.1', port: endpoint.port, metrics, logger: silentLogger }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${endpoint.port} (METRICS_ADDR)`);
  });
});
