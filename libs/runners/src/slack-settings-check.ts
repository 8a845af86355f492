import { SlackNotificationRunnerSettings } from '../../proto/src/index.js';
import { decodeSettings, requireText } from './settings-check.js';

/** SLACK_NOTIFICATION: bot_token and channel are required. The token is never echoed. */
export function checkSlackSettings(settings: Uint8Array): void {
  const decoded = decodeSettings('SlackNotificationRunnerSettings', SlackNotificationRunnerSettings, settings);
  requireText(decoded.botToken, 'bot_token', 'the Slack bot token (xoxb-...)');
  requireText(decoded.channel, 'channel', 'the Slack channel to post to');
}
