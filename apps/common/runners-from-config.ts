import type { Config } from '../../libs/config/src/index.js';
import type { PauseSwitches } from '../../libs/runners/src/index.js';
import { builtinRunnerDefinitions, dockerRunnerDefinition, RunnerRegistry } from '../../libs/runners/src/index.js';

/** Every runner this process can run: the built-ins, configured from Config (and the HTTP_REQUEST pause switches). */
export function createRunnerRegistry(config: Config, pauseSwitches?: PauseSwitches): RunnerRegistry {
  return new RunnerRegistry([
    ...builtinRunnerDefinitions({
      commandMaxOutputBytes: config.worker.commandMaxOutputBytes,
      commandEnv: config.worker.commandEnv,
      responseMaxBytes: config.worker.responseMaxBytes,
      slackApiBaseUrl: config.runners.slackApiBaseUrl,
      pauseSwitches,
    }),
    dockerRunnerDefinition({
      socketPath: config.runners.dockerSocketPath,
      groupId: config.runners.dockerGid,
      maxOutputBytes: config.worker.responseMaxBytes,
    }),
  ]);
}
