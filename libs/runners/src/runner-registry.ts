/**
 * The runner kinds a worker process can run, by runner id: the built-ins plus any loaded plugins.
 */
import { commandRunnerDefinition } from './command-runner.js';
import { grpcUnaryRunnerDefinition } from './grpc-unary-runner.js';
import type { PauseSwitches } from './http-request-runner.js';
import { httpRequestRunnerDefinition } from './http-request-runner.js';
import { mailRunnerDefinition } from './mail-runner.js';
import type { RunnerDefinition } from './runner.js';
import { slackNotificationRunnerDefinition } from './slack-notification-runner.js';

export interface BuiltinRunnerOptions {
  /** COMMAND: the most bytes kept of each of stdout and stderr (COMMAND_MAX_OUTPUT_BYTES). */
  readonly commandMaxOutputBytes: number;
  /** COMMAND: the children's whole environment (Config `worker.commandEnv`). */
  readonly commandEnv: Readonly<Record<string, string>>;
  /** HTTP_REQUEST, GRPC_UNARY and SLACK_NOTIFICATION: the most response bytes read per job (RESPONSE_MAX_BYTES). */
  readonly responseMaxBytes: number;
  /** SLACK_NOTIFICATION: the Slack Web API base URL (SLACK_API_BASE_URL). */
  readonly slackApiBaseUrl: string;
  /** HTTP_REQUEST: the switches its `pause_switch` setting names (none: that setting is ignored). */
  readonly pauseSwitches?: PauseSwitches;
}

/**
 * The built-in runners configured by these options: COMMAND, HTTP_REQUEST, GRPC_UNARY, SLACK_NOTIFICATION and MAIL.
 * The HTTP_REQUEST definition owns one set of connection pools, shared by every runner it creates.
 */
export function builtinRunnerDefinitions(options: BuiltinRunnerOptions): RunnerDefinition[] {
  return [
    commandRunnerDefinition({ maxOutputBytes: options.commandMaxOutputBytes, env: options.commandEnv }),
    httpRequestRunnerDefinition({ maxResponseBytes: options.responseMaxBytes, switches: options.pauseSwitches }),
    grpcUnaryRunnerDefinition({ maxResponseBytes: options.responseMaxBytes }),
    slackNotificationRunnerDefinition({
      apiBaseUrl: options.slackApiBaseUrl,
      maxResponseBytes: options.responseMaxBytes,
    }),
    mailRunnerDefinition(),
  ];
}

/** Runner definitions by runner id. Ids are unique: registering one twice is a wiring bug and throws. */
export class RunnerRegistry {
  private readonly definitions = new Map<number, RunnerDefinition>();

  constructor(definitions: Iterable<RunnerDefinition> = []) {
    for (const definition of definitions) {
      this.register(definition);
    }
  }

  register(definition: RunnerDefinition): void {
    const existing = this.definitions.get(definition.id);
    if (existing !== undefined) {
      throw new Error(
        `runner id ${definition.id} is already registered (${existing.name}); cannot add ${definition.name}`,
      );
    }
    this.definitions.set(definition.id, definition);
  }

  get(runnerId: number): RunnerDefinition | undefined {
    return this.definitions.get(runnerId);
  }

  /** All definitions, in registration order. */
  list(): RunnerDefinition[] {
    return [...this.definitions.values()];
  }
}
