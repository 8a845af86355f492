import { InvalidArgumentError, quote } from '../../core/src/index.js';
import { DockerRunnerSettings } from '../../proto/src/index.js';
import { decodeSettings } from './settings-check.js';

/**
 * DOCKER: every field is optional (the image may come with each job), but what is given must be usable: env entries
 * are KEY=VALUE with a name, and working_dir is an absolute path (the engine refuses anything else).
 */
export function checkDockerSettings(settings: Uint8Array): void {
  const decoded = decodeSettings('DockerRunnerSettings', DockerRunnerSettings, settings);
  decoded.env.forEach((entry, i) => {
    if (!/^[^=\s]+=/.test(entry)) {
      throw new InvalidArgumentError(`runner_settings.env[${i}] ${quote(entry)} must look like NAME=value`);
    }
  });
  const dir = decoded.workingDir;
  if (dir !== undefined && dir !== '' && !dir.startsWith('/')) {
    throw new InvalidArgumentError(`runner_settings.working_dir ${quote(dir)} must be an absolute path`);
  }
}
