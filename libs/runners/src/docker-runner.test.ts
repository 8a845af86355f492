/**
 * DockerRunner against a fake Docker Engine API on a unix socket (test/support/fake-docker-engine.ts): a
 * protocol-level test, no engine runs here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerArgs, DockerRunnerSettings } from '../../proto/src/index.js';
import type { FakeDockerEngine } from '../../../test/support/fake-docker-engine.js';
import { startFakeDockerEngine } from '../../../test/support/fake-docker-engine.js';
import { DockerRunner } from './docker-runner.js';
import type { DockerRunnerOptions } from './docker-runner.js';
import { RunnerError } from './runner.js';

const settings = (s: Partial<DockerRunnerSettings> = {}): Uint8Array =>
  DockerRunnerSettings.encode({ env: [], volumes: [], entrypoint: [], ...s }).finish();
const args = (a: Partial<DockerArgs>): Uint8Array =>
  DockerArgs.encode({ exposedPorts: [], env: [], cmd: [], volumes: [], entrypoint: [], shell: [], ...a }).finish();
const ctx = (signal = new AbortController().signal) => ({ signal, jobId: 42, timeoutMs: 0 });
const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString();

async function failure(p: Promise<unknown>): Promise<RunnerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RunnerError)) throw new Error(`expected a RunnerError, got ${String(err)}`);
  return err;
}

describe('DockerRunner', () => {
  let engine: FakeDockerEngine;
  let options: DockerRunnerOptions;

  beforeEach(async () => {
    engine = await startFakeDockerEngine({ images: ['busybox:1.36'], pullable: ['acme/tool:2'] });
    options = { socketPath: engine.socketPath, groupId: 999, maxOutputBytes: 1024 };
  });
  afterEach(async () => {
    await engine.close();
  });

  it('pulls from_image, creates the container from settings and args, returns stdout and removes it', async () => {
    const runner = new DockerRunner(options);
    await runner.load(
      settings({
        fromImage: 'acme/tool',
        tag: '2',
        env: ['FROM_SETTINGS=1', 'SECRET=hunter2'],
        volumes: ['/srv/data:/data:ro'],
        workingDir: '/work',
        entrypoint: ['/bin/entry'],
      }),
    );
    expect(engine.callsTo('POST', /^\/images\/create$/).map((c) => Object.fromEntries(c.query))).toEqual([
      { fromImage: 'acme/tool', tag: '2' },
    ]);

    const out = await runner.run(
      args({ cmd: ['out:hello', 'err:warning', 'exit:0'], env: ['FROM_ARGS=2'], volumes: ['/cache'], user: 'nobody' }),
      ctx(),
    );
    expect(out.map(text)).toEqual(['hello\n']);

    const [create] = engine.callsTo('POST', /^\/containers\/create$/);
    expect(create?.body).toMatchObject({
      Image: 'acme/tool:2',
      Cmd: ['out:hello', 'err:warning', 'exit:0'],
      Entrypoint: ['/bin/entry'],
      Env: ['FROM_SETTINGS=1', 'SECRET=hunter2', 'FROM_ARGS=2'],
      WorkingDir: '/work',
      User: 'nobody',
      Volumes: { '/cache': {} },
      Tty: false,
      Labels: { 'jobworkerp.job-id': '42' },
      HostConfig: { Binds: ['/srv/data:/data:ro'], GroupAdd: ['999'] },
    });
    // the container's settings travel in the body only, never in the URL
    expect([...(create?.query.keys() ?? [])]).toEqual([]);
    const [container] = engine.containers.values();
    expect(container).toMatchObject({ state: 'exited', exitCode: 0, removed: true, killed: false });
  });

  it('prefers the args image and entrypoint, and reuses the loaded runner for several jobs', async () => {
    const runner = new DockerRunner(options);
    await runner.load(settings({ entrypoint: ['/bin/entry'] }));
    expect(engine.callsTo('POST', /^\/images\/create$/)).toEqual([]);
    for (const word of ['one', 'two']) {
      const out = await runner.run(
        args({ image: 'busybox:1.36', entrypoint: ['/bin/other'], cmd: [`out:${word}`] }),
        ctx(),
      );
      expect(out.map(text)).toEqual([`${word}\n`]);
    }
    const bodies = engine.callsTo('POST', /^\/containers\/create$/).map((c) => c.body);
    expect(bodies).toMatchObject([
      { Image: 'busybox:1.36', Entrypoint: ['/bin/other'] },
      { Image: 'busybox:1.36', Entrypoint: ['/bin/other'] },
    ]);
    expect([...engine.containers.values()].every((c) => c.removed)).toBe(true);
  });

  it('fails a non-zero exit as retryable with the code and stderr, and removes the container', async () => {
    const runner = new DockerRunner(options);
    await runner.load(settings({ fromImage: 'busybox:1.36' }));
    const err = await failure(runner.run(args({ cmd: ['out:partial', 'err:disk full', 'exit:3'] }), ctx()));
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('container exited with code 3: disk full');
    expect(err.output.map(text)).toEqual(['disk full\n']);
    expect([...engine.containers.values()][0]).toMatchObject({ exitCode: 3, removed: true });
  });

  it('kills and removes the container when the job is aborted, rejecting with the reason', async () => {
    const runner = new DockerRunner(options);
    await runner.load(settings({ fromImage: 'busybox:1.36' }));
    const controller = new AbortController();
    const running = runner.run(args({ cmd: ['out:started', 'hang'] }), ctx(controller.signal));
    const reason = new Error('job timed out');
    setTimeout(() => controller.abort(reason), 100);
    await expect(running).rejects.toBe(reason);
    const [container] = engine.containers.values();
    expect(container).toMatchObject({ killed: true, removed: true });
    expect(engine.callsTo('POST', /\/kill$/)).toHaveLength(1);
    expect(engine.callsTo('DELETE', /^\/containers\/[0-9a-f]+$/).map((c) => c.query.get('force'))).toEqual(['true']);
  });

  it('kills a container whose output passes the limit and fails fatally with the output kept', async () => {
    const runner = new DockerRunner({ ...options, maxOutputBytes: 100 });
    await runner.load(settings({ fromImage: 'busybox:1.36' }));
    const err = await failure(runner.run(args({ cmd: ['big:50', 'big:80', 'hang'] }), ctx()));
    expect(err.kind).toBe('fatal');
    expect(err.message).toMatch(/exceeded 100 bytes/);
    expect(err.output[0]?.byteLength).toBe(100);
    expect([...engine.containers.values()][0]).toMatchObject({ killed: true, removed: true });
  });

  it('classifies engine errors: missing image and bad pulls are fatal, 5xx and an unreachable engine retryable', async () => {
    const runner = new DockerRunner(options);
    await runner.load(settings());
    const missing = await failure(runner.run(args({ image: 'nope/missing' }), ctx()));
    expect(missing.kind).toBe('fatal');
    expect(missing.message).toMatch(/No such image: nope\/missing:latest; pull it first/);

    const noImage = await failure(runner.run(args({ cmd: ['out:x'] }), ctx()));
    expect(noImage.kind).toBe('fatal');
    expect(noImage.message).toMatch(/no image to run/);

    const denied = await failure(new DockerRunner(options).load(settings({ fromImage: 'nope/private' })));
    expect(denied.kind).toBe('fatal');
    expect(denied.message).toMatch(/pulling image "nope\/private" failed: pull access denied/);

    const broken = await failure(new DockerRunner(options).load(settings({ fromImage: 'acme/broken' })));
    expect(broken.kind).toBe('retryable');
    expect(broken.message).toMatch(/unexpected EOF/);

    engine.failCreateWith = 500;
    const serverError = await failure(runner.run(args({ image: 'busybox:1.36' }), ctx()));
    expect(serverError.kind).toBe('retryable');
    expect(serverError.message).toMatch(/engine is having a bad day/);

    const away = new DockerRunner({ ...options, socketPath: `${engine.socketPath}.missing` });
    await away.load(settings());
    const unreachable = await failure(away.run(args({ image: 'busybox:1.36' }), ctx()));
    expect(unreachable.kind).toBe('retryable');
    expect(unreachable.message).toMatch(/cannot reach the Docker engine .* \(ENOENT\); check DOCKER_SOCKET_PATH/);
  });

  it('rejects undecodable settings and args as fatal', async () => {
    const runner = new DockerRunner(options);
    expect((await failure(runner.load(Uint8Array.from([0xff, 0xff])))).kind).toBe('fatal');
    await runner.load(settings({ fromImage: 'busybox:1.36' }));
    expect((await failure(runner.run(Uint8Array.from([0x0a, 0xff]), ctx()))).kind).toBe('fatal');
  });
});
