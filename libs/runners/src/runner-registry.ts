/**
 * The runner kinds a worker process can run, by runner id: the built-ins plus any loaded plugins.
 */
import { commandRunnerDefinition } from './command-runner.js';
import type { RunnerDefinition } from './runner.js';

export interface BuiltinRunnerOptions {
  /** COMMAND: the most bytes kept of each of stdout and stderr (COMMAND_MAX_OUTPUT_BYTES). */
  readonly commandMaxOutputBytes: number;
}

/**
 * The built-in runners implemented so far: COMMAND only. The other built-in rows (HTTP_REQUEST, GRPC_UNARY,
 * DOCKER, SLACK_NOTIFICATION, MAIL) exist in the database but have no implementation yet, so they are absent here
 * and a job for them finds no runner.
 */
export function builtinRunnerDefinitions(options: BuiltinRunnerOptions): RunnerDefinition[] {
  return [commandRunnerDefinition({ maxOutputBytes: options.commandMaxOutputBytes })];
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
