import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RunnerType } from '../../core/src/index.js';
import {
  CommandRunnerSettings,
  DockerRunnerSettings,
  GrpcUnaryRunnerSettings,
  HttpRequestRunnerSettings,
  MailRunnerSettings,
  SlackNotificationRunnerSettings,
} from '../../proto/src/index.js';
import { BUILTIN_SETTINGS_CHECKS } from './builtin-settings-checks.js';

const check = (type: RunnerType, bytes: Uint8Array): string | undefined => {
  try {
    BUILTIN_SETTINGS_CHECKS.get(type)?.(bytes);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
};

const docker = (s: Partial<DockerRunnerSettings>): Uint8Array =>
  DockerRunnerSettings.encode({ env: [], volumes: [], entrypoint: [], ...s }).finish();
const mail = (s: Partial<MailRunnerSettings>): Uint8Array =>
  MailRunnerSettings.encode({ host: 'smtp.example.com', port: 25, starttls: false, secure: false, ...s }).finish();
const slack = (s: Partial<SlackNotificationRunnerSettings>): Uint8Array =>
  SlackNotificationRunnerSettings.encode({
    botToken: 'xoxb-1',
    channel: '#ops',
    title: '',
    notifySuccess: true,
    notifyFailure: true,
    ...s,
  }).finish();

describe('built-in runner settings checks', () => {
  it.each([
    ['COMMAND without an executable', RunnerType.COMMAND, new Uint8Array(), 'runner_settings.name must be set'],
    [
      'COMMAND with a blank executable',
      RunnerType.COMMAND,
      CommandRunnerSettings.encode({ name: '  ' }).finish(),
      'runner_settings.name must be set',
    ],
    [
      'HTTP_REQUEST without base_url',
      RunnerType.HTTP_REQUEST,
      new Uint8Array(),
      'runner_settings.base_url must be set',
    ],
    [
      'HTTP_REQUEST with ftp',
      RunnerType.HTTP_REQUEST,
      HttpRequestRunnerSettings.encode(HttpRequestRunnerSettings.fromPartial({ baseUrl: 'ftp://x' })).finish(),
      'must use http or https',
    ],
    [
      'HTTP_REQUEST with a shared key header without a key',
      RunnerType.HTTP_REQUEST,
      HttpRequestRunnerSettings.encode(
        HttpRequestRunnerSettings.fromPartial({ baseUrl: 'https://x', sharedKeyHeader: { name: 'X-Key', key: '' } }),
      ).finish(),
      'runner_settings.shared_key_header.key must be set',
    ],
    [
      'HTTP_REQUEST with a shared key header name that is no header name',
      RunnerType.HTTP_REQUEST,
      HttpRequestRunnerSettings.encode(
        HttpRequestRunnerSettings.fromPartial({ baseUrl: 'https://x', sharedKeyHeader: { name: 'a b', key: 'k' } }),
      ).finish(),
      'must be an HTTP header name',
    ],
    [
      'GRPC_UNARY without host',
      RunnerType.GRPC_UNARY,
      GrpcUnaryRunnerSettings.encode({ host: '', port: 1 }).finish(),
      'runner_settings.host must be set',
    ],
    [
      'GRPC_UNARY with port 0',
      RunnerType.GRPC_UNARY,
      GrpcUnaryRunnerSettings.encode({ host: 'h', port: 0 }).finish(),
      'runner_settings.port is 0',
    ],
    [
      'DOCKER with a relative working_dir',
      RunnerType.DOCKER,
      docker({ workingDir: 'work' }),
      'runner_settings.working_dir "work" must be an absolute path',
    ],
    [
      'DOCKER with an env entry without a name',
      RunnerType.DOCKER,
      docker({ env: ['=x'] }),
      'runner_settings.env[0] "=x"',
    ],
    [
      'SLACK without bot_token',
      RunnerType.SLACK_NOTIFICATION,
      slack({ botToken: '' }),
      'runner_settings.bot_token must be set',
    ],
    [
      'SLACK without channel',
      RunnerType.SLACK_NOTIFICATION,
      slack({ channel: ' ' }),
      'runner_settings.channel must be set',
    ],
    ['MAIL without host', RunnerType.MAIL, mail({ host: '' }), 'runner_settings.host must be set'],
    ['MAIL with port 70000', RunnerType.MAIL, mail({ port: 70000 }), 'runner_settings.port is 70000'],
    [
      'MAIL with a password but no username',
      RunnerType.MAIL,
      mail({ password: 'hunter2' }),
      'runner_settings.username must be set',
    ],
    [
      'bytes that are no settings message',
      RunnerType.COMMAND,
      new Uint8Array([0x0f]),
      'runner_settings are not a valid CommandRunnerSettings',
    ],
  ])('refuses %s, naming the field', (_what, type, bytes, expected) => {
    expect(check(type, bytes)).toContain(expected);
  });

  it('never echoes a secret', () => {
    expect(check(RunnerType.MAIL, mail({ password: 'hunter2' }))).not.toContain('hunter2');
  });

  it.each([
    [RunnerType.COMMAND, CommandRunnerSettings.encode({ name: 'echo' }).finish()],
    [
      RunnerType.HTTP_REQUEST,
      HttpRequestRunnerSettings.encode(
        HttpRequestRunnerSettings.fromPartial({ baseUrl: 'https://example.com' }),
      ).finish(),
    ],
    [
      RunnerType.HTTP_REQUEST,
      HttpRequestRunnerSettings.encode(
        HttpRequestRunnerSettings.fromPartial({
          allowAnyOrigin: true,
          sharedKeyHeader: { name: 'Poussetaches-Auth-Key', key: 'k' },
        }),
      ).finish(),
    ],
    [RunnerType.GRPC_UNARY, GrpcUnaryRunnerSettings.encode({ host: '::1', port: 50051 }).finish()],
    [RunnerType.DOCKER, docker({})],
    [RunnerType.DOCKER, docker({ fromImage: 'busybox', env: ['MODE=test'], workingDir: '/work' })],
    [RunnerType.SLACK_NOTIFICATION, slack({})],
    [RunnerType.MAIL, mail({ port: 0, username: 'u', password: 'p' })],
  ])('accepts usable settings of runner type %s', (type, bytes) => {
    expect(check(type, bytes)).toBeUndefined();
  });
});
