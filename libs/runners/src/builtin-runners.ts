/**
 * The built-in runner rows every database gets, with the schemas they publish (the files in proto/jobworkerp/runner).
 * Ids and names are fixed: clients refer to runner 1 as COMMAND, and so on.
 */
import type { Runner } from '../../core/src/index.js';
import { RunnerType } from '../../core/src/index.js';
import * as schema from '../../proto/src/index.js';

export const COMMAND_RUNNER_ID = 1;
export const HTTP_REQUEST_RUNNER_ID = 2;
export const GRPC_UNARY_RUNNER_ID = 3;
export const DOCKER_RUNNER_ID = 4;
export const SLACK_NOTIFICATION_RUNNER_ID = 5;
export const MAIL_RUNNER_ID = 6;

export const BUILTIN_RUNNERS: readonly Runner[] = Object.freeze([
  {
    id: COMMAND_RUNNER_ID,
    name: 'COMMAND',
    type: RunnerType.COMMAND,
    settingsProto: schema.commandSettingsProto,
    argsProto: schema.commandArgsProto,
    resultProto: undefined,
  },
  {
    id: HTTP_REQUEST_RUNNER_ID,
    name: 'HTTP_REQUEST',
    type: RunnerType.HTTP_REQUEST,
    settingsProto: schema.httpRequestSettingsProto,
    argsProto: schema.httpRequestArgsProto,
    resultProto: schema.httpRequestResultProto,
  },
  {
    id: GRPC_UNARY_RUNNER_ID,
    name: 'GRPC_UNARY',
    type: RunnerType.GRPC_UNARY,
    settingsProto: schema.grpcUnarySettingsProto,
    argsProto: schema.grpcUnaryArgsProto,
    resultProto: undefined,
  },
  {
    id: DOCKER_RUNNER_ID,
    name: 'DOCKER',
    type: RunnerType.DOCKER,
    settingsProto: schema.dockerSettingsProto,
    argsProto: schema.dockerArgsProto,
    resultProto: undefined,
  },
  {
    id: SLACK_NOTIFICATION_RUNNER_ID,
    name: 'SLACK_NOTIFICATION',
    type: RunnerType.SLACK_NOTIFICATION,
    settingsProto: schema.slackSettingsProto,
    argsProto: schema.slackArgsProto,
    resultProto: undefined,
  },
  {
    id: MAIL_RUNNER_ID,
    name: 'MAIL',
    type: RunnerType.MAIL,
    settingsProto: schema.mailSettingsProto,
    argsProto: schema.mailArgsProto,
    resultProto: schema.mailResultProto,
  },
]);
