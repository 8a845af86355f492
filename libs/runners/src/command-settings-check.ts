import { CommandRunnerSettings } from '../../proto/src/index.js';
import { decodeSettings, requireText } from './settings-check.js';

/** COMMAND: the executable's name is required. */
export function checkCommandSettings(settings: Uint8Array): void {
  const { name } = decodeSettings('CommandRunnerSettings', CommandRunnerSettings, settings);
  requireText(name, 'name', 'the executable to run (a name found on PATH, or a path)');
}
