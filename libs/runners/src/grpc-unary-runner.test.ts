import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawUnaryMethod } from '../../../test/support/raw-grpc.js';
import { GrpcUnaryArgs, GrpcUnaryRunnerSettings } from '../../proto/src/index.js';
import { grpcStatusKind, GrpcUnaryRunner } from './grpc-unary-runner.js';
import { context, runnerError } from './testing/run-context.js';

const MAX_RESPONSE_BYTES = 1000;
type Handler = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void;

/** A raw-bytes service `test.Raw` with the given methods. */
function rawService(methods: Record<string, Handler>): [ServiceDefinition, UntypedServiceImplementation] {
  const definition: ServiceDefinition = Object.fromEntries(
    Object.keys(methods).map((name) => [name, rawUnaryMethod(`/test.Raw/${name}`)]),
  );
  return [definition, methods];
}

let server: Server;
let port: number;
let cancelledCalls = 0;
const runners: GrpcUnaryRunner[] = [];

beforeAll(async () => {
  server = new Server();
  server.addService(
    ...rawService({
      Echo: (call, callback) => callback(null, Buffer.concat([Buffer.from('echo:'), call.request])),
      Big: (_call, callback) => callback(null, Buffer.alloc(MAX_RESPONSE_BYTES * 2)),
      Unavailable: (_call, callback) => callback({ code: status.UNAVAILABLE, details: 'try later' }),
      Invalid: (_call, callback) => callback({ code: status.INVALID_ARGUMENT, details: 'bad request' }),
      Hang: (call) => call.on('cancelled', () => (cancelledCalls += 1)),
    }),
  );
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
});
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  server.forceShutdown();
});

async function loaded(host = '127.0.0.1', atPort = port): Promise<GrpcUnaryRunner> {
  const runner = new GrpcUnaryRunner({ maxResponseBytes: MAX_RESPONSE_BYTES });
  runners.push(runner);
  await runner.load(GrpcUnaryRunnerSettings.encode({ host, port: atPort }).finish());
  return runner;
}

const args = (path: string, request = 'hi'): Uint8Array =>
  GrpcUnaryArgs.encode({ path, request: Buffer.from(request) }).finish();

describe('grpcStatusKind', () => {
  it('retries UNAVAILABLE and DEADLINE_EXCEEDED only', () => {
    expect(grpcStatusKind(status.UNAVAILABLE)).toBe('retryable');
    expect(grpcStatusKind(status.DEADLINE_EXCEEDED)).toBe('retryable');
    for (const code of [status.INVALID_ARGUMENT, status.NOT_FOUND, status.UNIMPLEMENTED, status.INTERNAL]) {
      expect(grpcStatusKind(code)).toBe('fatal');
    }
  });
});

describe('GrpcUnaryRunner', () => {
  it('refuses empty hosts and ports out of range', async () => {
    expect((await runnerError(loaded(''))).message).toContain('is not a host name or address');
    expect((await runnerError(loaded('http://x'))).kind).toBe('fatal');
    expect((await runnerError(loaded('127.0.0.1', 0))).message).toContain('port 0 is not between 1 and 65535');
  });

  it('sends the raw request bytes and returns the raw response bytes', async () => {
    const output = await (await loaded()).run(args('/test.Raw/Echo', 'payload'), context());
    expect(output.map((item) => Buffer.from(item).toString())).toEqual(['echo:payload']);
  });

  it('refuses a path that is not a method path, before calling', async () => {
    const runner = await loaded();
    for (const path of ['', 'test.Raw/Echo', '/test.Raw', '/test.Raw/Echo/x']) {
      const error = await runnerError(runner.run(args(path), context()));
      expect(error.kind).toBe('fatal');
      expect(error.message).toContain('is not a method path');
    }
  });

  it('classifies non-OK statuses with their name and message', async () => {
    const runner = await loaded();
    const unavailable = await runnerError(runner.run(args('/test.Raw/Unavailable'), context()));
    expect(unavailable.kind).toBe('retryable');
    expect(unavailable.message).toContain('UNAVAILABLE (14): try later');
    const invalid = await runnerError(runner.run(args('/test.Raw/Invalid'), context()));
    expect(invalid.kind).toBe('fatal');
    expect(invalid.message).toContain('INVALID_ARGUMENT (3): bad request');
    const missing = await runnerError(runner.run(args('/test.Raw/Missing'), context()));
    expect(missing.kind).toBe('fatal');
    expect(missing.message).toContain('UNIMPLEMENTED');
  });

  it('refuses responses larger than maxResponseBytes', async () => {
    const error = await runnerError((await loaded()).run(args('/test.Raw/Big'), context()));
    expect(error.kind).toBe('fatal');
    expect(error.message).toContain('RESOURCE_EXHAUSTED');
    expect(error.message).toContain('RESPONSE_MAX_BYTES');
  });

  it('retries when nothing listens on the port', async () => {
    const error = await runnerError((await loaded('127.0.0.1', 1)).run(args('/test.Raw/Echo'), context()));
    expect(error.kind).toBe('retryable');
    expect(error.message).toContain('UNAVAILABLE');
  });

  it('passes the job timeout as the deadline', async () => {
    const error = await runnerError((await loaded()).run(args('/test.Raw/Hang'), context(undefined, 100)));
    expect(error.kind).toBe('retryable');
    expect(error.message).toContain('DEADLINE_EXCEEDED');
  });

  it('cancels the call when the signal fires and rejects with its reason', async () => {
    const before = cancelledCalls;
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const running = (await loaded()).run(args('/test.Raw/Hang'), context(controller.signal));
    setTimeout(() => controller.abort(reason), 100);
    await expect(running).rejects.toBe(reason);
    await expect.poll(() => cancelledCalls).toBe(before + 1);
  });
});
