import { HttpRequestRunnerSettings } from '../../proto/src/index.js';
import { HEADER_NAME, parseBaseUrl } from './http-request-runner.js';
import { InvalidArgumentError } from '../../core/src/index.js';
import { asSettingsCheck, decodeSettings, requireText } from './settings-check.js';

/**
 * HTTP_REQUEST: base_url is required (unless allow_any_origin is set) and must be an absolute http(s) URL without
 * credentials; a shared_key_header needs a header name and a key.
 */
export function checkHttpRequestSettings(settings: Uint8Array): void {
  const decoded = decodeSettings('HttpRequestRunnerSettings', HttpRequestRunnerSettings, settings);
  const { baseUrl, allowAnyOrigin, sharedKeyHeader } = decoded;
  if (!allowAnyOrigin || baseUrl !== '') {
    requireText(baseUrl, 'base_url', 'the absolute http(s) URL requests go to');
    asSettingsCheck(() => parseBaseUrl(baseUrl));
  }
  if (sharedKeyHeader !== undefined) {
    requireText(sharedKeyHeader.name, 'shared_key_header.name', 'the header that carries the key');
    if (!HEADER_NAME.test(sharedKeyHeader.name)) {
      throw new InvalidArgumentError(
        'runner_settings.shared_key_header.name must be an HTTP header name (letters, digits, -)',
      );
    }
    requireText(sharedKeyHeader.key, 'shared_key_header.key', 'the shared key sent in that header');
  }
}
