import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResultStatus } from '../../core/src/index.js';
import type {
  JobResult as JobResultMessage,
  SlackNotificationRunnerSettings as Settings,
} from '../../proto/src/index.js';
import { JobResult, SlackNotificationRunnerSettings } from '../../proto/src/index.js';
import {
  MAX_OUTPUT_CHARS,
  slackErrorKind,
  slackMessageText,
  SlackNotificationRunner,
} from './slack-notification-runner.js';
import { context, runnerError } from './testing/run-context.js';

const TOKEN = 'xoxb-unit-test-token';

interface Posted {
  readonly url: string;
  readonly authorization: string | undefined;
  readonly json: { channel: string; text: string };
}

let server: Server;
let apiBaseUrl: string;
let posted: Posted[];
let answer: (res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      posted.push({
        url: req.url ?? '',
        authorization: req.headers.authorization,
        json: JSON.parse(body) as Posted['json'],
      });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  posted = [];
  answer = (res) => res.setHeader('content-type', 'application/json').end('{"ok":true,"channel":"C1","ts":"1.2"}');
});

function jobResult(status: ResultStatus, output: string[] = [], extra: Partial<JobResultMessage['data']> = {}) {
  return {
    id: { value: 9 },
    data: {
      jobId: { value: 42 },
      workerId: { value: 7 },
      workerName: 'nightly-report',
      args: Buffer.alloc(0),
      status,
      output: { items: output.map((text) => Buffer.from(text)) },
      retried: 0,
      maxRetry: 0,
      priority: 0,
      timeout: 0,
      enqueueTime: 0,
      runAfterTime: 0,
      startTime: 0,
      endTime: 0,
      responseType: 0,
      storeSuccess: false,
      storeFailure: false,
      ...extra,
    },
  } satisfies JobResultMessage;
}

async function loaded(overrides: Partial<Settings> = {}): Promise<SlackNotificationRunner> {
  const runner = new SlackNotificationRunner({ apiBaseUrl, maxResponseBytes: 10_000 });
  const settings = {
    botToken: TOKEN,
    channel: '#ops',
    title: 'Report',
    notifySuccess: true,
    notifyFailure: true,
    ...overrides,
  };
  await runner.load(SlackNotificationRunnerSettings.encode(settings).finish());
  return runner;
}

const encoded = (result: JobResultMessage): Uint8Array => JobResult.encode(result).finish();

describe('slackMessageText', () => {
  it('names the title, worker, job and status, and quotes the output escaped for Slack', () => {
    const text = slackMessageText('Daily <report>', jobResult(ResultStatus.FATAL_ERROR, ['a < b & c', 'second']));
    expect(text).toBe(
      [
        '*Daily &lt;report&gt;*',
        '*Worker:* nightly-report (id 7)',
        '*Job:* 42',
        '*Status:* FATAL_ERROR',
        '*Output:*',
        '```a &lt; b &amp; c\nsecond```',
      ].join('\n'),
    );
  });

  it('shows retries, leaves out an empty title and output, and bounds long output', () => {
    const text = slackMessageText('', jobResult(ResultStatus.MAX_RETRY, [], { retried: 2, maxRetry: 2 }));
    expect(text).toBe('*Worker:* nightly-report (id 7)\n*Job:* 42\n*Status:* MAX_RETRY\n*Retried:* 2 of 2');
    const long = slackMessageText('t', jobResult(ResultStatus.SUCCESS, ['y'.repeat(MAX_OUTPUT_CHARS + 500)]));
    expect(long).toContain(`${'y'.repeat(MAX_OUTPUT_CHARS)}… (truncated)\`\`\``);
    expect(long).not.toContain('y'.repeat(MAX_OUTPUT_CHARS + 1));
  });
});

describe('slackErrorKind', () => {
  it('retries rate limits and Slack-side failures only', () => {
    expect(['ratelimited', 'internal_error', 'service_unavailable'].map(slackErrorKind)).toEqual(
      Array(3).fill('retryable'),
    );
    expect(['invalid_auth', 'channel_not_found', 'not_in_channel', 'unknown_error'].map(slackErrorKind)).toEqual(
      Array(4).fill('fatal'),
    );
  });
});

describe('SlackNotificationRunner', () => {
  it('refuses settings without a token or channel', async () => {
    expect((await runnerError(loaded({ botToken: ' ' }))).message).toContain('empty bot_token');
    expect((await runnerError(loaded({ channel: '' }))).message).toContain('empty channel');
  });

  it('posts the result with the bot token and returns Slack’s answer', async () => {
    const output = await (await loaded()).run(encoded(jobResult(ResultStatus.SUCCESS, ['done'])), context());
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ url: '/api/chat.postMessage', authorization: `Bearer ${TOKEN}` });
    expect(posted[0]!.json.channel).toBe('#ops');
    expect(posted[0]!.json.text).toContain('*Status:* SUCCESS');
    expect(posted[0]!.json.text).toContain('```done```');
    expect(output.map((item) => JSON.parse(Buffer.from(item).toString()) as unknown)).toEqual([
      { ok: true, channel: 'C1', ts: '1.2' },
    ]);
  });

  it('posts nothing when the result’s kind of status is not to be notified', async () => {
    const quietOnSuccess = await loaded({ notifySuccess: false });
    expect(await quietOnSuccess.run(encoded(jobResult(ResultStatus.SUCCESS)), context())).toEqual([]);
    const quietOnFailure = await loaded({ notifyFailure: false });
    expect(await quietOnFailure.run(encoded(jobResult(ResultStatus.MAX_RETRY)), context())).toEqual([]);
    expect(posted).toEqual([]);
    await quietOnFailure.run(encoded(jobResult(ResultStatus.SUCCESS)), context());
    expect(posted).toHaveLength(1);
  });

  it('refuses args that are not a JobResult', async () => {
    const runner = await loaded();
    expect((await runnerError(runner.run(new Uint8Array([0xff, 0xff]), context()))).kind).toBe('fatal');
    expect((await runnerError(runner.run(new Uint8Array(), context()))).message).toContain('hold no result');
    expect(posted).toEqual([]);
  });

  it('classifies Slack errors and HTTP statuses without revealing the token', async () => {
    const runner = await loaded();
    const cases: [(res: ServerResponse) => void, string, string][] = [
      [(res) => res.end(`{"ok":false,"error":"invalid_auth","token":"${TOKEN}"}`), 'fatal', 'invalid_auth'],
      [(res) => res.end('{"ok":false,"error":"ratelimited"}'), 'retryable', 'ratelimited'],
      [(res) => res.end('{"ok":false,"error":"Bad <stuff>"}'), 'fatal', 'unknown_error'],
      [(res) => res.writeHead(429).end(), 'retryable', 'HTTP 429'],
      [(res) => res.writeHead(502).end('bad gateway'), 'retryable', 'HTTP 502'],
      [(res) => res.writeHead(404).end(), 'fatal', 'HTTP 404'],
      [(res) => res.end('<html>not slack</html>'), 'fatal', 'other than JSON'],
    ];
    for (const [respond, kind, text] of cases) {
      answer = respond;
      const error = await runnerError(runner.run(encoded(jobResult(ResultStatus.SUCCESS)), context()));
      expect(error.kind).toBe(kind);
      expect(error.message).toContain(text);
      expect(error.message).not.toContain(TOKEN);
      expect(error.output).toEqual([]);
    }
  });

  it('retries when Slack cannot be reached', async () => {
    const runner = new SlackNotificationRunner({ apiBaseUrl: 'http://127.0.0.1:1', maxResponseBytes: 100 });
    await runner.load(
      SlackNotificationRunnerSettings.encode({
        botToken: TOKEN,
        channel: 'c',
        title: '',
        notifySuccess: true,
        notifyFailure: true,
      }).finish(),
    );
    const error = await runnerError(runner.run(encoded(jobResult(ResultStatus.SUCCESS)), context()));
    expect(error.kind).toBe('retryable');
    expect(error.message).not.toContain(TOKEN);
  });

  it('aborts the request when the signal fires and rejects with its reason', async () => {
    answer = () => undefined;
    const controller = new AbortController();
    const reason = new Error('job timed out');
    const running = (await loaded()).run(encoded(jobResult(ResultStatus.SUCCESS)), context(controller.signal));
    await expect.poll(() => posted.length).toBe(1);
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });
});
