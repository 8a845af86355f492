import { describe, expect, it } from 'vitest';
import { RunnerType } from '../../core/src/index.js';
import {
  BUILTIN_RUNNERS,
  COMMAND_RUNNER_ID,
  GRPC_UNARY_RUNNER_ID,
  HTTP_REQUEST_RUNNER_ID,
  MAIL_RUNNER_ID,
  SLACK_NOTIFICATION_RUNNER_ID,
} from './builtin-runners.js';
import { CommandRunner } from './command-runner.js';
import { GrpcUnaryRunner } from './grpc-unary-runner.js';
import { HttpRequestRunner } from './http-request-runner.js';
import { MailRunner } from './mail-runner.js';
import { builtinRunnerDefinitions, RunnerRegistry } from './runner-registry.js';
import { SlackNotificationRunner } from './slack-notification-runner.js';

const OPTIONS = {
  commandMaxOutputBytes: 10,
  commandEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  responseMaxBytes: 100,
  slackApiBaseUrl: 'http://127.0.0.1:1/api',
};

describe('builtinRunnerDefinitions', () => {
  it('has every implemented built-in with its published row and runner class', () => {
    const definitions = builtinRunnerDefinitions(OPTIONS);
    const expected: [number, RunnerType, string, abstract new (...args: never[]) => unknown][] = [
      [COMMAND_RUNNER_ID, RunnerType.COMMAND, 'COMMAND', CommandRunner],
      [HTTP_REQUEST_RUNNER_ID, RunnerType.HTTP_REQUEST, 'HTTP_REQUEST', HttpRequestRunner],
      [GRPC_UNARY_RUNNER_ID, RunnerType.GRPC_UNARY, 'GRPC_UNARY', GrpcUnaryRunner],
      [SLACK_NOTIFICATION_RUNNER_ID, RunnerType.SLACK_NOTIFICATION, 'SLACK_NOTIFICATION', SlackNotificationRunner],
      [MAIL_RUNNER_ID, RunnerType.MAIL, 'MAIL', MailRunner],
    ];
    expect(definitions.map((definition) => definition.id)).toEqual(expected.map(([id]) => id));
    for (const [id, type, name, runnerClass] of expected) {
      const definition = definitions.find((d) => d.id === id)!;
      const row = BUILTIN_RUNNERS.find((runner) => runner.id === id);
      expect(definition).toMatchObject({ ...row, name, type });
      expect(definition.create()).toBeInstanceOf(runnerClass);
    }
  });

  it('marks only SLACK_NOTIFICATION as taking whole JobResults from next_workers', () => {
    const takesResults = builtinRunnerDefinitions(OPTIONS).filter((definition) => definition.usesJobResultAsArgs);
    expect(takesResults.map((definition) => definition.id)).toEqual([SLACK_NOTIFICATION_RUNNER_ID]);
  });
});

describe('RunnerRegistry', () => {
  it('finds definitions by runner id and lists them in registration order', () => {
    const [command] = builtinRunnerDefinitions(OPTIONS);
    const plugin = { ...command!, id: 1000, name: 'HelloPlugin', type: RunnerType.PLUGIN };
    const registry = new RunnerRegistry([command!]);
    registry.register(plugin);
    expect(registry.get(COMMAND_RUNNER_ID)).toBe(command);
    expect(registry.get(1000)).toBe(plugin);
    expect(registry.get(2)).toBeUndefined();
    expect(registry.list()).toEqual([command, plugin]);
  });

  it('refuses a second definition with the same id', () => {
    const registry = new RunnerRegistry(builtinRunnerDefinitions(OPTIONS));
    const [command] = registry.list();
    const duplicate = { ...command!, name: 'OTHER' };
    expect(() => registry.register(duplicate)).toThrow('runner id 1 is already registered (COMMAND)');
    expect(registry.get(COMMAND_RUNNER_ID)).toBe(command);
  });
});
