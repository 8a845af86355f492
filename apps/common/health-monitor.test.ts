/**
 * HealthMonitor's transitions, in-process: dependencies whose answers the test sets, and a logger that records what
 * the monitor logs. The monitor against a real Redis and MariaDB is in test/e2e/health.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../libs/core/src/index.js';
import type { Dependency, DependencyState } from './health-monitor.js';
import { HealthMonitor } from './health-monitor.js';

/** A dependency that answers as `failure` says: undefined = up, a message = down. */
class Switchable implements Dependency {
  failure: string | undefined;
  checks = 0;
  closed = false;
  private listener: ((reachable: boolean) => void) | undefined;

  constructor(
    readonly name: string,
    readonly target = `${name}.local:1`,
  ) {}

  check(): Promise<void> {
    this.checks += 1;
    return this.failure === undefined ? Promise.resolve() : Promise.reject(new Error(this.failure));
  }

  onChange(listener: (reachable: boolean) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }

  /** what a connection event does: a hint */
  hint(reachable: boolean): void {
    this.listener?.(reachable);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

interface Line {
  readonly level: 'info' | 'warn';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: 'info' | 'warn') =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, obj: {}, msg: obj });
      else lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: at('info'),
    warn: at('warn'),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const monitors: HealthMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(deps: Dependency[], lines: Line[], intervalMs = 20, timeoutMs?: number): HealthMonitor {
  const m = new HealthMonitor(deps, { intervalMs, timeoutMs, logger: recordingLogger(lines) });
  monitors.push(m);
  return m;
}

describe('HealthMonitor', () => {
  it('reports SERVING while every dependency answers, and names the one that does not', async () => {
    const redis = new Switchable('redis');
    const rdb = new Switchable('rdb');
    const lines: Line[] = [];
    const m = monitor([redis, rdb], lines);
    await m.start();
    expect(m.report()).toMatchObject({
      status: 'SERVING',
      stopping: false,
      dependencies: [
        { name: 'redis', up: true },
        { name: 'rdb', up: true },
      ],
    });
    expect(lines).toEqual([]);

    redis.failure = 'connect ECONNREFUSED';
    await until(() => !m.isUp('redis'), 'redis is down');
    expect(m.isUp('rdb')).toBe(true);
    expect(m.report()).toMatchObject({
      status: 'NOT_SERVING',
      dependencies: [
        { name: 'redis', up: false, error: 'connect ECONNREFUSED' },
        { name: 'rdb', up: true },
      ],
    });
  });

  it('logs each transition once: a warning with the dependency and the error, an info line when it is back', async () => {
    const rdb = new Switchable('rdb', 'mysql db:3306/jw');
    const lines: Line[] = [];
    const transitions: DependencyState[] = [];
    const m = monitor([rdb], lines);
    m.onTransition((s) => transitions.push(s));
    await m.start();

    rdb.failure = 'first reason';
    await until(() => !m.isUp('rdb'), 'the RDB is down');
    const downChecks = rdb.checks;
    rdb.failure = 'second reason';
    // several failed checks go by
    await until(() => rdb.checks >= downChecks + 3, 'more checks ran');
    expect(m.report().dependencies[0]?.error).toBe('second reason');
    rdb.failure = undefined;
    await until(() => m.isUp('rdb'), 'the RDB is back');
    await until(() => rdb.checks >= downChecks + 6, 'more checks ran');

    expect(lines.map((l) => [l.level, l.obj])).toEqual([
      ['warn', { dependency: 'rdb', target: 'mysql db:3306/jw', error: 'first reason' }],
      ['info', { dependency: 'rdb', target: 'mysql db:3306/jw' }],
    ]);
    expect(lines[0]?.msg).toMatch(/rdb does not answer/);
    expect(transitions.map((s) => [s.name, s.up])).toEqual([
      ['rdb', false],
      ['rdb', true],
    ]);
  });

  it('reports a dependency down at the first check, before start() returns', async () => {
    const redis = new Switchable('redis');
    redis.failure = 'NOAUTH';
    const lines: Line[] = [];
    const m = monitor([redis], lines);
    await m.start();
    expect(m.isUp('redis')).toBe(false);
    expect(m.report().status).toBe('NOT_SERVING');
    expect(lines.map((l) => l.level)).toEqual(['warn']);
  });

  it('counts a check that does not answer within the timeout as down', async () => {
    const hanging: Dependency = { name: 'rdb', target: 'x', check: () => new Promise<void>(() => undefined) };
    const m = monitor([hanging], [], 1000, 50);
    await m.start();
    expect(m.report().dependencies[0]).toMatchObject({ up: false, error: 'no answer within 50 ms' });
  });

  it('checks at once on a hint that disagrees with what it knows, not at the next interval', async () => {
    const redis = new Switchable('redis');
    // an interval far longer than the test: only hints can cause checks
    const m = monitor([redis], [], 600_000);
    await m.start();
    expect(redis.checks).toBe(1);

    redis.hint(true); // agrees: up already
    await sleep(50);
    expect(redis.checks).toBe(1);

    redis.failure = 'connection lost';
    redis.hint(false);
    await until(() => !m.isUp('redis'), 'redis is down');
    const checks = redis.checks;
    redis.hint(false); // agrees: down already
    await sleep(50);
    expect(redis.checks).toBe(checks);

    redis.failure = undefined;
    redis.hint(true);
    await until(() => m.isUp('redis'), 'redis is back');
  });

  it('reports NOT_SERVING (stopping) once stopped, checks no more and closes the dependencies', async () => {
    const redis = new Switchable('redis');
    const m = monitor([redis], []);
    await m.start();
    await m.stop();
    await m.stop();
    expect(m.state).toBe('stopped');
    expect(m.report()).toMatchObject({ status: 'NOT_SERVING', stopping: true });
    expect(redis.closed).toBe(true);
    const checks = redis.checks;
    await sleep(100);
    expect(redis.checks).toBe(checks);
    await expect(m.start()).rejects.toThrow(/cannot start a health monitor that is stopped/);
  });

  it('refuses two dependencies of the same name', () => {
    expect(() => monitor([new Switchable('rdb'), new Switchable('rdb')], [])).toThrow(/distinct names/);
  });
});
