import { RunnerType } from '../../core/src/index.js';
import type { PluginMetadata } from './plugin-messages.js';
import type { PluginThreadPool } from './plugin-thread-pool.js';
import { PluginThreadRunner } from './plugin-thread-runner.js';
import type { RunnerDefinition } from './runner.js';

/** The runner kind of a plugin whose row has id `id`: its published schemas, and instances running in `pool`. */
export function pluginRunnerDefinition(id: number, metadata: PluginMetadata, pool: PluginThreadPool): RunnerDefinition {
  return {
    id,
    name: metadata.name,
    type: RunnerType.PLUGIN,
    settingsProto: metadata.runnerSettingsProto,
    argsProto: metadata.jobArgsProto,
    resultProto: metadata.resultOutputProto,
    create: () => new PluginThreadRunner(pool),
  };
}
