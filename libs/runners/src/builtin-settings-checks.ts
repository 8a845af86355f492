import { RunnerType } from '../../core/src/index.js';
import { checkCommandSettings } from './command-settings-check.js';
import { checkDockerSettings } from './docker-settings-check.js';
import { checkGrpcUnarySettings } from './grpc-unary-settings-check.js';
import { checkHttpRequestSettings } from './http-request-settings-check.js';
import { checkMailSettings } from './mail-settings-check.js';
import type { SettingsCheck } from './settings-check.js';
import { checkSlackSettings } from './slack-settings-check.js';

/** The settings check of each built-in runner type; plugins offer theirs on their definition (validateSettings). */
export const BUILTIN_SETTINGS_CHECKS: ReadonlyMap<RunnerType, SettingsCheck> = new Map<RunnerType, SettingsCheck>([
  [RunnerType.COMMAND, checkCommandSettings],
  [RunnerType.HTTP_REQUEST, checkHttpRequestSettings],
  [RunnerType.GRPC_UNARY, checkGrpcUnarySettings],
  [RunnerType.DOCKER, checkDockerSettings],
  [RunnerType.SLACK_NOTIFICATION, checkSlackSettings],
  [RunnerType.MAIL, checkMailSettings],
]);
