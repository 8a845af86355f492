import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Logger, Worker } from '../../core/src/index.js';
import { InvalidArgumentError, MAX_ECHOED_CHARS } from '../../core/src/index.js';
import { MAX_STATUS_DETAILS_CHARS, toServiceError } from './grpc-errors.js';
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
      lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as Record<string, unknown>, msg });
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

describe('WorkerResolver', () => {
  it('quotes at most a cut prefix of an unknown worker name', async () => {
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
    expect(message).toMatch(/^worker "n{200}…\[cut: 100000 characters in all\]" does not exist$/);
  });
});
