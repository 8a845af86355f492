import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Logger, Worker } from '../../core/src/index.js';
import { InvalidArgumentError, MAX_ECHOED_CHARS, quote } from '../../core/src/index.js';
import { Code, ConnectError } from '@connectrpc/connect';
import { MAX_STATUS_DETAILS_CHARS, toServiceError } from './grpc-errors.js';
import { connectErrorOf } from './http/connect-errors.js';
import { callSignal, WorkerResolver } from './job-context.js';

interface Logged {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

function recordingLogger(lines: Logged[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(
        typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as Record<string, unknown>, msg },
      );
    };
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

describe('toServiceError', () => {
  it('logs a call its client cancelled at info level, without an error or stack, and answers CANCELLED', () => {
    const call = Object.assign(new EventEmitter(), { getDeadline: () => Infinity });
    const signal = callSignal(call);
    call.emit('cancelled');
    const lines: Logged[] = [];
    const answer = toServiceError(signal.reason, 'JobService/Enqueue', recordingLogger(lines));
    expect(answer.code).toBe(status.CANCELLED);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('info');
    expect(lines[0]?.obj['err']).toBeUndefined();
    expect(JSON.stringify(lines[0])).not.toContain('    at ');
  });

  it('never sends a status message longer than the backstop', () => {
    const answer = toServiceError(new InvalidArgumentError('x'.repeat(100_000)), 'M', recordingLogger([]));
    expect(answer.code).toBe(status.INVALID_ARGUMENT);
    expect(answer.details.length).toBeLessThan(MAX_STATUS_DETAILS_CHARS + 100);
    expect(answer.details).toContain('cut: 100000 characters in all');
  });
});

describe('connectErrorOf', () => {
  it('keeps the code and message of every gRPC status, and clips the message', () => {
    for (const code of [status.INVALID_ARGUMENT, status.NOT_FOUND, status.UNAUTHENTICATED, status.UNAVAILABLE]) {
      const grpcError = Object.assign(new Error(`${code} ignored`), { code, details: `details of ${code}` });
      const answer = connectErrorOf(grpcError, 'M', recordingLogger([]));
      expect(answer.code).toBe(code as number as Code);
      expect(answer.rawMessage).toBe(`details of ${code}`);
    }
    const long = Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'y'.repeat(50_000) });
    expect(connectErrorOf(long, 'M', recordingLogger([])).rawMessage.length).toBeLessThan(
      MAX_STATUS_DETAILS_CHARS + 100,
    );
  });

  it('passes a Connect error on, and turns anything else into INTERNAL without its text, logged', () => {
    const connectError = new ConnectError('bad JSON', Code.InvalidArgument);
    expect(connectErrorOf(connectError, 'M', recordingLogger([]))).toBe(connectError);
    const lines: Logged[] = [];
    const answer = connectErrorOf(new TypeError('secret internals'), 'JobService/Enqueue', recordingLogger(lines));
    expect(answer.code).toBe(Code.Internal);
    expect(answer.rawMessage).toBe('internal error in JobService/Enqueue; the server log has details');
    expect(lines.map((l) => l.level)).toEqual(['error']);
    // OK (0) is no error code: never passed through as one
    expect(connectErrorOf(Object.assign(new Error('odd'), { code: 0 }), 'M', recordingLogger([])).code).toBe(
      Code.Internal,
    );
  });
});

describe('WorkerResolver', () => {
  it('refuses a worker_name longer than any worker can have, naming the limit', async () => {
    const none = async (): Promise<undefined> => undefined;
    const resolver = new WorkerResolver({
      workers: { find: none, findByName: none },
      runners: { find: none },
    } as never);
    const name = 'n'.repeat(100_000);
    const err = await resolver.resolve({ workerName: name }).then(
      (w: Worker) => w,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message.length).toBeLessThan(MAX_ECHOED_CHARS + 100);
    expect(message).toBe('worker_name must be at most 128 characters, got 100000');
  });

  it('quotes a name of legal length whole', async () => {
    const none = async (): Promise<undefined> => undefined;
    const resolver = new WorkerResolver({
      workers: { find: none, findByName: none },
      runners: { find: none },
    } as never);
    const name = 'é'.repeat(128);
    await expect(resolver.resolve({ workerName: name })).rejects.toThrow(`worker "${name}" does not exist`);
  });
});

describe('quote', () => {
  it('cuts a long value to 200 characters with a marker, never inside a surrogate pair', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('k'.repeat(300))).toBe(`"${'k'.repeat(200)}…[cut: 300 characters in all]"`);
    const emoji = `${'a'.repeat(199)}😀tail`;
    expect(quote(emoji)).toBe(`"${'a'.repeat(199)}…[cut: ${emoji.length} characters in all]"`);
  });
});

describe('callSignal', () => {
  it('is aborted at once for a call that was cancelled before its handler ran', () => {
    const call = Object.assign(new EventEmitter(), { cancelled: true, getDeadline: () => Infinity });
    const signal = callSignal(call);
    expect(signal.aborted).toBe(true);
    expect(toServiceError(signal.reason, 'M', recordingLogger([])).code).toBe(status.CANCELLED);
  });
});
