import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';
import type { IdGenerator } from '../../libs/core/src/index.js';
import { RunnerType } from '../../libs/core/src/index.js';
import type { RunnerDefinition } from '../../libs/runners/src/index.js';
import { discoverPlugins, pluginRunnerDefinition, PluginThreadPool } from '../../libs/runners/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';

export interface PluginRunners {
  /** one runner kind per plugin, for the RunnerRegistry of a process that runs jobs */
  readonly definitions: readonly RunnerDefinition[];
  /** terminates the plugins' threads (after the engine stopped) */
  close(): Promise<void>;
}

/**
 * Loads the plugins of PLUGINS_RUNNER_DIR (a front and a worker both do it at start): each usable plugin gets a
 * PLUGIN runner row, inserted or updated by name, and a runner definition whose jobs run in the plugin's threads.
 * Unusable modules are logged and skipped (see discoverPlugins); so is a plugin whose name belongs to a runner row
 * that is not a plugin's.
 */
/** @param ids makes the ids of new plugin rows (unique across the processes of a cluster) */
export async function loadPluginRunners(
  config: Config,
  storage: Storage,
  logger: Logger,
  ids: IdGenerator,
): Promise<PluginRunners> {
  const threads = { maxOutputBytes: config.worker.responseMaxBytes };
  const plugins = await discoverPlugins(config.runners.pluginDirs, { ...threads, logger });
  const pools: PluginThreadPool[] = [];
  const definitions: RunnerDefinition[] = [];
  for (const { path, moduleUrl, metadata } of plugins) {
    const existing = await storage.runners.findByName(metadata.name);
    if (existing !== undefined && existing.type !== RunnerType.PLUGIN) {
      logger.warn(
        { path, plugin: metadata.name, runnerId: existing.id },
        'skipped a plugin named like a runner that is not a plugin',
      );
      continue;
    }
    const row = await storage.runners.upsertByName(
      {
        name: metadata.name,
        type: RunnerType.PLUGIN,
        settingsProto: metadata.runnerSettingsProto,
        argsProto: metadata.jobArgsProto,
        resultProto: metadata.resultOutputProto,
      },
      () => ids.next(),
    );
    const pool = new PluginThreadPool(moduleUrl, metadata.name, { ...threads, threads: config.runners.pluginThreads });
    pools.push(pool);
    definitions.push(pluginRunnerDefinition(row.id, metadata, pool));
    logger.info({ plugin: metadata.name, runnerId: row.id }, 'plugin runner registered');
  }
  return {
    definitions,
    close: async () => {
      await Promise.all(pools.map((pool) => pool.close()));
    },
  };
}
