import { InvalidArgumentError } from '../../core/src/index.js';
import { MailRunnerSettings } from '../../proto/src/index.js';
import { decodeSettings, requirePort, requireText } from './settings-check.js';

/** MAIL: host is required, port is 1..65535 (0 = the default), and a password needs a username. Secrets are never echoed. */
export function checkMailSettings(settings: Uint8Array): void {
  const decoded = decodeSettings('MailRunnerSettings', MailRunnerSettings, settings);
  requireText(decoded.host, 'host', 'the SMTP server');
  requirePort(decoded.port, 'port', true);
  if ((decoded.username ?? '') === '' && (decoded.password ?? '') !== '') {
    throw new InvalidArgumentError('runner_settings.username must be set when runner_settings.password is');
  }
}
