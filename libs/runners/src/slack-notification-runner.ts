/**
 * The SLACK_NOTIFICATION runner (built-in runner 5): posts a job's result to a Slack channel with chat.postMessage.
 *
 * Semantics:
 * - settings: `bot_token` (a bot token, sent as `Authorization: Bearer`), `channel`, `title`, `notify_success`,
 *   `notify_failure`; an empty token or channel fails load() as fatal;
 * - args are a serialized `jobworkerp.data.JobResult` (the definition sets usesJobResultAsArgs, so a worker that
 *   lists this one in next_workers hands over its whole result);
 * - a SUCCESS result with notify_success off, or any other status with notify_failure off → SUCCESS with no output
 *   and nothing posted;
 * - otherwise it POSTs `{channel, text}` as JSON to `<apiBaseUrl>/chat.postMessage`; the text holds the title, the
 *   worker name and id, the job id, the status name and the result's output items as UTF-8 text (at most
 *   MAX_OUTPUT_CHARS characters, then a truncation marker); the output is the Slack answer's JSON bytes;
 * - Slack answers most errors with HTTP 200 and `{"ok":false,"error":"<code>"}`: rate limits and Slack-side
 *   failures (ratelimited, internal_error, ...), HTTP 429, HTTP 5xx and network errors → `RunnerError('retryable')`;
 *   every other error code (invalid_auth, channel_not_found, ...) or HTTP status → `RunnerError('fatal')` naming
 *   the code;
 * - `ctx.signal` aborted → the request is aborted and run() rejects with `ctx.signal.reason`.
 *
 * The token never appears in a message or an output: failures name Slack's error code or the HTTP status only.
 */
import { request } from 'undici';
import type { JobResult, SlackNotificationRunnerSettings as Settings } from '../../proto/src/index.js';
import { JobResult as JobResultCodec, SlackNotificationRunnerSettings } from '../../proto/src/index.js';
import { ResultStatus } from '../../core/src/index.js';
import { readBoundedBody } from './bounded-body.js';
import { SLACK_NOTIFICATION_RUNNER_ID } from './builtin-runners.js';
import { builtinRunnerRow } from './builtin-runner-row.js';
import { decodeRunnerMessage } from './decode-runner-message.js';
import { errorMessage } from './error-message.js';
import { httpRequestErrorKind } from './http-request-runner.js';
import type { FailureKind, RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

/** The most characters of the job's output quoted in a message (Slack shows about this much of a block). */
export const MAX_OUTPUT_CHARS = 3000;

/** Slack error codes that may clear on a later attempt; every other code will not. */
const RETRYABLE_SLACK_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'request_timeout',
  'service_unavailable',
  'internal_error',
  'fatal_error',
]);

/** What a Slack error code looks like; anything else is reported as unknown_error rather than echoed. */
const SLACK_ERROR_CODE = /^[a-z0-9_]{1,100}$/;

export interface SlackNotificationRunnerOptions {
  /** The Slack Web API base URL (SLACK_API_BASE_URL), e.g. `https://slack.com/api`. */
  readonly apiBaseUrl: string;
  /** The most bytes of Slack's answer read (RESPONSE_MAX_BYTES); a longer answer fails the run as fatal. */
  readonly maxResponseBytes: number;
}

/** Posts job results to Slack; see the module comment for the exact semantics. */
export class SlackNotificationRunner implements Runner {
  private settings: Settings | undefined;

  constructor(private readonly options: SlackNotificationRunnerOptions) {}

  async load(settings: Uint8Array): Promise<void> {
    const decoded = decodeRunnerMessage('SlackNotificationRunnerSettings', SlackNotificationRunnerSettings, settings);
    if (decoded.botToken.trim() === '') {
      throw new RunnerError('SLACK_NOTIFICATION runner settings have an empty bot_token', 'fatal');
    }
    if (decoded.channel.trim() === '') {
      throw new RunnerError('SLACK_NOTIFICATION runner settings have an empty channel', 'fatal');
    }
    this.settings = decoded;
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const settings = this.settings;
    if (settings === undefined) {
      throw new RunnerError('SLACK_NOTIFICATION runner was run before load()', 'other');
    }
    const result = decodeRunnerMessage('JobResult', JobResultCodec, args);
    if (result.data === undefined) {
      const message = 'SLACK_NOTIFICATION args must be a serialized jobworkerp.data.JobResult; these hold no result';
      throw new RunnerError(message, 'fatal');
    }
    const succeeded = result.data.status === ResultStatus.SUCCESS;
    if (succeeded ? !settings.notifySuccess : !settings.notifyFailure) {
      return [];
    }
    ctx.signal.throwIfAborted();
    return [await this.post(settings, slackMessageText(settings.title, result), ctx.signal)];
  }

  /** Posts the message; returns Slack's answer (JSON bytes) or throws a classified RunnerError. */
  private async post(settings: Settings, text: string, signal: AbortSignal): Promise<Uint8Array> {
    const url = `${this.options.apiBaseUrl.replace(/\/+$/, '')}/chat.postMessage`;
    const limit = this.options.maxResponseBytes;
    let status: number;
    let body;
    try {
      const response = await request(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${settings.botToken}`,
          'content-type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify({ channel: settings.channel, text }),
        signal,
      });
      status = response.statusCode;
      body = await readBoundedBody(response.body, limit);
    } catch (error) {
      if (signal.aborted) {
        throw signal.reason;
      }
      const message = `Slack chat.postMessage request failed: ${errorMessage(error)}`;
      throw new RunnerError(message, httpRequestErrorKind(error), [], { cause: error });
    }
    if (status === 429 || (status >= 500 && status < 600)) {
      throw new RunnerError(`Slack chat.postMessage answered HTTP ${status}`, 'retryable');
    }
    if (status < 200 || status >= 300) {
      throw new RunnerError(`Slack chat.postMessage answered HTTP ${status}; check SLACK_API_BASE_URL`, 'fatal');
    }
    if (body.exceeded) {
      throw new RunnerError(`Slack's answer exceeded ${limit} bytes (RESPONSE_MAX_BYTES)`, 'fatal');
    }
    const error = slackError(body.bytes);
    if (error !== undefined) {
      throw new RunnerError(`Slack chat.postMessage failed: ${error}`, slackErrorKind(error));
    }
    return body.bytes;
  }
}

/** The SLACK_NOTIFICATION row of the built-in runners; it takes whole JobResults from next_workers chaining. */
export function slackNotificationRunnerDefinition(options: SlackNotificationRunnerOptions): RunnerDefinition {
  return {
    ...builtinRunnerRow(SLACK_NOTIFICATION_RUNNER_ID),
    usesJobResultAsArgs: true,
    create: () => new SlackNotificationRunner(options),
  };
}

/** Retryable for rate limits and Slack-side failures; fatal for the rest (bad token, unknown channel, ...). */
export function slackErrorKind(code: string): FailureKind {
  return RETRYABLE_SLACK_ERRORS.has(code) ? 'retryable' : 'fatal';
}

/**
 * The message text (Slack mrkdwn) for a job result: title, worker, job, status and the output as text, escaped
 * for Slack and bounded to MAX_OUTPUT_CHARS characters of output.
 */
export function slackMessageText(title: string, result: JobResult): string {
  const data = result.data;
  const status = data?.status ?? ResultStatus.SUCCESS;
  const lines: string[] = [];
  if (title.trim() !== '') {
    lines.push(`*${escapeMrkdwn(title)}*`);
  }
  lines.push(`*Worker:* ${escapeMrkdwn(data?.workerName ?? '')} (id ${data?.workerId?.value ?? 0})`);
  lines.push(`*Job:* ${data?.jobId?.value ?? 0}`);
  lines.push(`*Status:* ${ResultStatus[status] ?? `unknown status ${status}`}`);
  if ((data?.retried ?? 0) > 0) {
    lines.push(`*Retried:* ${data?.retried ?? 0} of ${data?.maxRetry ?? 0}`);
  }
  const output = outputText(data?.output?.items ?? []);
  if (output !== '') {
    // a ``` inside the output would end the code block early; a zero-width space keeps it literal
    lines.push('*Output:*', `\`\`\`${escapeMrkdwn(output).replaceAll('```', '`\u200b``')}\`\`\``);
  }
  return lines.join('\n');
}

/** The output items as UTF-8 text, one per line, cut at MAX_OUTPUT_CHARS characters with a marker. */
function outputText(items: readonly Uint8Array[]): string {
  const text = items
    .map((item) => Buffer.from(item).toString('utf8'))
    .join('\n')
    .trimEnd();
  return text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}… (truncated)` : text;
}

/** Slack's three control characters in mrkdwn text. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The error code of a Slack answer that is not ok, undefined for an ok answer; unparsable answers are fatal. */
function slackError(bytes: Buffer): string | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    const message = 'Slack chat.postMessage answered with something other than JSON; check SLACK_API_BASE_URL';
    throw new RunnerError(message, 'fatal', [], { cause: error });
  }
  if (typeof answer !== 'object' || answer === null || !('ok' in answer)) {
    throw new RunnerError('Slack chat.postMessage answered JSON without "ok"; check SLACK_API_BASE_URL', 'fatal');
  }
  if (answer.ok === true) {
    return undefined;
  }
  const code = 'error' in answer ? answer.error : undefined;
  return typeof code === 'string' && SLACK_ERROR_CODE.test(code) ? code : 'unknown_error';
}
