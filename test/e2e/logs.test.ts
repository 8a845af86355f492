/**
 * The all-in-one's log, read from its stdout: the ready line and the lines about jobs, as JSON lines (LOG_USE_JSON,
 * the default) and as plain lines (LOG_USE_JSON=false). A line about a job names its jobId, workerId, worker and
 * channel; a failed job is a warning, its retries info lines, a success a debug line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ResultStatus } from '../../libs/proto/src/index.js';
import { ResponseType } from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import { logLines, logRecords } from '../support/log-lines.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { commandArgs, commandWorkerData, constantRetry } from '../support/worker-data.js';

const CHANNEL = 'logs-e2e';
const ENV = { WORKER_CHANNELS: CHANNEL, WORKER_CHANNEL_CONCURRENCIES: '1', JOB_QUEUE_FETCH_INTERVAL: '200' };

let server: ServerProcess | undefined;
let clients: Clients | undefined;

afterEach(async () => {
  clients?.close();
  clients = undefined;
  await server?.stop();
  server = undefined;
});

/** Resolves with the first value `find` returns from the process's output, checking again at each stdout chunk. */
async function waitForOutput<T>(p: ServerProcess, what: string, find: (output: string) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const check = (): boolean => {
      const found = find(p.output());
      if (found === undefined) return false;
      clearTimeout(timer);
      p.child.stdout?.off('data', onData);
      resolve(found);
      return true;
    };
    const onData = (): void => void check();
    const timer = setTimeout(() => {
      p.child.stdout?.off('data', onData);
      reject(new Error(`no log line ${what} within 30 s:\n${p.output()}`));
    }, 30_000);
    p.child.stdout?.on('data', onData);
    check();
  });
}

/** A worker on CHANNEL that fails (`exit 3`) and is retried once, and a DIRECT call of it; returns the job id. */
async function runFailingJob(c: Clients, name: string): Promise<string> {
  await call(
    c.worker,
    'create',
    commandWorkerData(name, 'sh', {
      channel: CHANNEL,
      retryPolicy: constantRetry(100, 1),
      responseType: ResponseType.DIRECT,
    }),
  );
  const reply = await call(c.job, 'enqueue', { workerName: name, args: commandArgs('-c', 'exit 3') });
  expect(reply.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
  return String(reply.id!.value);
}

describe('log lines on stdout', () => {
  it('JSON lines: the ready line has its address fields; every line about a job names it, its worker and channel', async () => {
    server = await startServer({ env: { ...ENV, LOG_LEVEL: 'debug' } });
    const ready = logRecords(server.output()).find((r) => /listening on/.test(String(r['msg'])));
    expect(ready).toMatchObject({
      level: 30,
      msg: `jobworkerp all-in-one listening on 127.0.0.1:${server.port} (Standalone)`,
      address: `127.0.0.1:${server.port}`,
      port: server.port,
      storage: 'Standalone',
    });
    clients = connect(server.address);

    const failingId = await runFailingJob(clients, 'logs-failing');
    const failed = await waitForOutput(server, 'about the failed job', (out) =>
      logRecords(out).find((r) => String(r['jobId']) === failingId && r['msg'] === 'job failed'),
    );
    expect(failed).toMatchObject({ level: 40, worker: 'logs-failing', channel: CHANNEL, status: 'MAX_RETRY' });
    expect(failed['reason']).toContain('exited with code 3');
    const about = logRecords(server.output()).filter((r) => String(r['jobId']) === failingId);
    expect(about.map((r) => r['msg'])).toContain('job failed; it runs again');
    for (const line of about) {
      expect(line).toMatchObject({ workerId: failed['workerId'], worker: 'logs-failing', channel: CHANNEL });
    }

    // a success is a debug line, here on the default channel
    await call(clients.worker, 'create', commandWorkerData('logs-ok', 'true', { responseType: ResponseType.DIRECT }));
    const ok = await call(clients.job, 'enqueue', { workerName: 'logs-ok', args: commandArgs() });
    expect(ok.result?.data?.status).toBe(ResultStatus.SUCCESS);
    const okId = String(ok.id!.value);
    const succeeded = await waitForOutput(server, 'about the success', (out) =>
      logRecords(out).find((r) => String(r['jobId']) === okId && r['msg'] === 'job succeeded'),
    );
    expect(succeeded).toMatchObject({ level: 20, worker: 'logs-ok', channel: '__default_job_channel__' });
  }, 90_000);

  it('plain lines (LOG_USE_JSON=false): the same fields as key=value after the message', async () => {
    server = await startServer({ env: { ...ENV, LOG_USE_JSON: 'false' } });
    const lines = logLines(server.output());
    expect(lines.every((l) => l.record === undefined)).toBe(true);
    const ready = lines.find((l) => l.text.includes('listening on'))?.text;
    expect(ready).toMatch(
      new RegExp(`^\\S+Z INFO jobworkerp all-in-one listening on 127\\.0\\.0\\.1:${server.port} \\(Standalone\\) `),
    );
    expect(ready).toContain(` port=${server.port} `);
    clients = connect(server.address);

    const failingId = await runFailingJob(clients, 'logs-plain');
    const failed = await waitForOutput(server, 'about the failed job', (out) =>
      logLines(out).find((l) => l.text.includes(' WARN job failed ') && l.text.includes(` jobId=${failingId} `)),
    );
    expect(failed.text).toContain(' worker=logs-plain ');
    expect(failed.text).toContain(` channel=${CHANNEL} `);
    expect(failed.text).toContain(' status=MAX_RETRY ');
    expect(failed.text).toMatch(/ workerId=\d+ /);
  }, 90_000);
});
