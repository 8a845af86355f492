/**
 * The DOCKER runner end to end: a real all-in-one talks to a fake Docker Engine API on a unix socket
 * (test/support/fake-docker-engine.ts) through DOCKER_SOCKET_PATH. This is a protocol-level test: no engine and no
 * container run here; the fake answers the endpoints the runner uses and plays each container's Cmd as a script.
 * Timing checks are behaviour bounds with slack, not performance figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult, WorkerData } from '../../libs/proto/src/index.js';
import { DockerArgs, DockerRunnerSettings, ResponseType, ResultStatus } from '../../libs/proto/src/index.js';
import type { FakeDockerEngine } from '../support/fake-docker-engine.js';
import { startFakeDockerEngine } from '../support/fake-docker-engine.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import { constantRetry, workerData } from '../support/worker-data.js';

const DOCKER_RUNNER_ID = 4;
const text = (r: JobResult | undefined, i = 0): string => Buffer.from(r?.data?.output?.items[i] ?? []).toString();
const settings = (s: Partial<DockerRunnerSettings>): Buffer =>
  Buffer.from(DockerRunnerSettings.encode({ env: [], volumes: [], entrypoint: [], ...s }).finish());
const args = (a: Partial<DockerArgs>): Buffer =>
  Buffer.from(
    DockerArgs.encode({ exposedPorts: [], env: [], cmd: [], volumes: [], entrypoint: [], shell: [], ...a }).finish(),
  );
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the DOCKER runner against a Docker Engine API socket', () => {
  let engine: FakeDockerEngine;
  let server: ServerProcess;
  let c: Clients;
  let seq = 0;

  const createWorker = async (s: Buffer, overrides: Partial<WorkerData> = {}): Promise<number> => {
    seq += 1;
    const data = workerData({
      name: `docker-${seq}`,
      runnerId: { value: DOCKER_RUNNER_ID },
      runnerSettings: s,
      responseType: ResponseType.DIRECT,
      ...overrides,
    });
    return (await call(c.worker, 'create', data)).id!.value;
  };
  const enqueue = (workerId: number, a: Buffer, extra: Record<string, unknown> = {}) =>
    call(c.job, 'enqueue', { workerId: { value: workerId }, args: a, ...extra });
  const creates = (): Array<Record<string, unknown>> =>
    engine.callsTo('POST', /^\/containers\/create$/).map((call) => call.body as Record<string, unknown>);

  beforeAll(async () => {
    engine = await startFakeDockerEngine({ images: ['busybox:1.36'], pullable: ['acme/tool:2'] });
    server = await startServer({
      env: { DOCKER_SOCKET_PATH: engine.socketPath, DOCKER_GID: '999', JOB_QUEUE_FETCH_INTERVAL: '300' },
    });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    await engine?.close();
  });

  it('pulls the image, runs the container with the settings and args, returns stdout and removes it', async () => {
    const w = await createWorker(
      settings({ fromImage: 'acme/tool', tag: '2', env: ['MODE=test'], workingDir: '/work' }),
    );
    const res = await enqueue(w, args({ cmd: ['out:hello from a container', 'err:a warning'], env: ['JOB=1'] }));
    expect(res.result?.data?.status).toBe(ResultStatus.SUCCESS);
    expect(text(res.result)).toBe('hello from a container\n');

    expect(engine.callsTo('POST', /^\/images\/create$/).map((call) => call.query.get('fromImage'))).toEqual([
      'acme/tool',
    ]);
    expect(creates()).toMatchObject([
      { Image: 'acme/tool:2', Env: ['MODE=test', 'JOB=1'], WorkingDir: '/work', HostConfig: { GroupAdd: ['999'] } },
    ]);
    const [container] = engine.containers.values();
    expect(container).toMatchObject({ exitCode: 0, removed: true, killed: false });
    const sequence = engine.calls.filter((call) => call.path.startsWith(`/containers/${container!.id}`));
    expect(sequence.map((call) => `${call.method} ${call.path.replace(container!.id, 'ID')}`)).toEqual([
      'POST /containers/ID/start',
      'GET /containers/ID/logs',
      'POST /containers/ID/wait',
      'DELETE /containers/ID',
    ]);
  });

  it('retries a container that exits non-zero, ends with MAX_RETRY and its stderr, removing every container', async () => {
    const before = engine.containers.size;
    const w = await createWorker(settings({ fromImage: 'busybox:1.36' }), {
      retryPolicy: constantRetry(20, 2),
    });
    const res = await enqueue(w, args({ cmd: ['out:partial', 'err:disk full', 'exit:3'] }));
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(res.result?.data?.retried).toBe(2);
    expect(text(res.result)).toBe('container exited with code 3: disk full');
    expect(text(res.result, 1)).toBe('disk full\n');
    const runs = [...engine.containers.values()].slice(before);
    expect(runs.map((container) => [container.exitCode, container.removed])).toEqual([
      [3, true],
      [3, true],
      [3, true],
    ]);
  });

  it('kills and removes a container that outlives the job timeout', async () => {
    const w = await createWorker(settings({ fromImage: 'busybox:1.36' }));
    const started = Date.now();
    const res = await enqueue(w, args({ cmd: ['out:working', 'hang'] }), { timeout: 300 });
    expect(res.result?.data?.status).toBe(ResultStatus.MAX_RETRY);
    expect(text(res.result)).toBe('job timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    const container = [...engine.containers.values()].at(-1)!;
    for (let i = 0; i < 100 && !container.removed; i++) await sleep(20);
    expect(container).toMatchObject({ killed: true, removed: true, exitCode: 137 });
  });

  it('fails a job whose image does not exist as FATAL_ERROR, without retrying', async () => {
    const w = await createWorker(settings({}), {
      retryPolicy: constantRetry(20, 2),
    });
    const res = await enqueue(w, args({ image: 'nope/missing', cmd: ['out:x'] }));
    expect(res.result?.data?.status).toBe(ResultStatus.FATAL_ERROR);
    expect(res.result?.data?.retried).toBe(0);
    expect(text(res.result)).toMatch(/No such image: nope\/missing:latest/);
  });
});
