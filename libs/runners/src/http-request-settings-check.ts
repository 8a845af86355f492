import { HttpRequestRunnerSettings } from '../../proto/src/index.js';
import { parseBaseUrl } from './http-request-runner.js';
import { asSettingsCheck, decodeSettings, requireText } from './settings-check.js';

/** HTTP_REQUEST: base_url is required and must be an absolute http(s) URL without credentials. */
export function checkHttpRequestSettings(settings: Uint8Array): void {
  const { baseUrl } = decodeSettings('HttpRequestRunnerSettings', HttpRequestRunnerSettings, settings);
  requireText(baseUrl, 'base_url', 'the absolute http(s) URL requests go to');
  asSettingsCheck(() => parseBaseUrl(baseUrl));
}
