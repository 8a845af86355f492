/**
 * SLACK_NOTIFICATION and MAIL runners end to end: a real all-in-one process talking to a Slack-like node:http
 * endpoint (SLACK_API_BASE_URL) and an in-process smtp-server whose received messages are parsed with mailparser.
 * Timing checks are behaviour bounds with slack.
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult as JobResultMessage, RetryPolicy, WorkerData } from '../../libs/proto/src/index.js';
import {
  JobResult,
  MailArgs,
  MailResult,
  MailRunnerSettings,
  ResponseType,
  ResultStatus,
  SlackNotificationRunnerSettings,
} from '../../libs/proto/src/index.js';
import type { Clients } from '../support/grpc-clients.js';
import { call, connect } from '../support/grpc-clients.js';
import { listenOnLoopback } from '../support/http-listen.js';
import type { ServerProcess } from '../support/server-process.js';
import { startServer } from '../support/server-process.js';
import {
  COMMAND_RUNNER_ID,
  commandArgs,
  commandSettings,
  constantRetry,
  NO_RETRY,
  workerData,
} from '../support/worker-data.js';

const BOT_TOKEN = 'xoxb-e2e-0123456789-secret';
const SMTP_USER = 'jobs-mailer';
const SMTP_PASSWORD = 'smtp-e2e-Pa55word';
const TWO_RETRIES = constantRetry(50, 2);

const statusOf = (r: JobResultMessage | undefined): ResultStatus | undefined => r?.data?.status;
const items = (r: JobResultMessage | undefined): Uint8Array[] => r?.data?.output?.items ?? [];
const text = (r: JobResultMessage | undefined, i = 0): string => Buffer.from(items(r)[i] ?? []).toString();

/** A Slack Web API stand-in: records each chat.postMessage and answers with the queued responses. */
interface SlackPeer {
  readonly baseUrl: string;
  readonly posts: {
    authorization: string | undefined;
    json: { channel: string; text: string };
    /** resolves true when the client went away before the answer was finished */
    aborted: Promise<boolean>;
  }[];
  /** answers for the next requests, in order; when empty the answer is ok */
  readonly answers: ((res: ServerResponse) => void)[];
  close(): Promise<void>;
}

async function startSlackPeer(): Promise<SlackPeer> {
  const posts: SlackPeer['posts'] = [];
  const answers: SlackPeer['answers'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/chat.postMessage') {
        res.writeHead(404).end();
        return;
      }
      const aborted = new Promise<boolean>((resolve) => res.on('close', () => resolve(!res.writableFinished)));
      posts.push({
        authorization: req.headers.authorization,
        json: JSON.parse(body) as { channel: string; text: string },
        aborted,
      });
      const answer = answers.shift() ?? ((r: ServerResponse) => r.end('{"ok":true,"ts":"1700000000.000100"}'));
      answer(res.setHeader('content-type', 'application/json'));
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { baseUrl: `http://127.0.0.1:${port}/api`, posts, answers, close };
}

/** An SMTP server that requires AUTH and records logins, messages and closed sessions. */
interface SmtpPeer {
  readonly port: number;
  readonly logins: { username: string | undefined; password: string | undefined }[];
  readonly messages: Buffer[];
  /** RCPT TO replies for the next recipients, in order (mailArgs has two: to and cc); empty = accepted */
  readonly rcptErrors: Error[];
  /** when set, DATA is read but never answered */
  hangData: boolean;
  closedSessions: number;
  close(): Promise<void>;
}

async function startSmtpPeer(): Promise<SmtpPeer> {
  const peer: Omit<SmtpPeer, 'port' | 'close'> = {
    logins: [],
    messages: [],
    rcptErrors: [],
    hangData: false,
    closedSessions: 0,
  };
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) => {
      peer.logins.push({ username: auth.username, password: auth.password ?? undefined });
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo: (_address, _session, callback) => callback(peer.rcptErrors.shift() ?? null),
    onData: (stream: Readable, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (peer.hangData) return;
        peer.messages.push(Buffer.concat(chunks));
        callback(null);
      });
    },
    onClose: () => {
      peer.closedSessions += 1;
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return Object.assign(peer, {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function jobResultArgs(status: ResultStatus, output: string): Uint8Array {
  return JobResult.encode({
    id: { value: 1 },
    data: {
      jobId: { value: 777 },
      workerId: { value: 55 },
      workerName: 'nightly-export',
      args: Buffer.alloc(0),
      status,
      output: { items: [Buffer.from(output)] },
      retried: 0,
      maxRetry: 0,
      priority: 0,
      timeout: 0,
      enqueueTime: 0,
      runAfterTime: 0,
      startTime: 0,
      endTime: 0,
      responseType: ResponseType.DIRECT,
      storeSuccess: true,
      storeFailure: true,
    },
  }).finish();
}

describe('SLACK_NOTIFICATION and MAIL runners through the all-in-one', () => {
  let server: ServerProcess;
  let c: Clients;
  let slack: SlackPeer;
  let smtp: SmtpPeer;
  let seq = 0;

  const createWorker = async (runnerId: number, settings: Uint8Array, extra: Partial<WorkerData> = {}) => {
    seq += 1;
    const data = workerData({
      name: `runner-e2e-${runnerId}-${seq}`,
      runnerId: { value: runnerId },
      runnerSettings: Buffer.from(settings),
      retryPolicy: NO_RETRY,
      responseType: ResponseType.DIRECT,
      storeSuccess: true,
      storeFailure: true,
      ...extra,
    });
    return (await call(c.worker, 'create', data)).id!.value;
  };
  const enqueue = async (workerId: number, args: Uint8Array, timeout?: number) =>
    (await call(c.job, 'enqueue', { workerId: { value: workerId }, args: Buffer.from(args), timeout })).result;

  interface SlackWorkerOptions {
    notifySuccess?: boolean;
    retryPolicy?: RetryPolicy;
    responseType?: ResponseType;
  }
  const slackWorker = (overrides: SlackWorkerOptions = {}) =>
    createWorker(
      5,
      SlackNotificationRunnerSettings.encode({
        botToken: BOT_TOKEN,
        channel: '#ops',
        title: 'Nightly export',
        notifySuccess: overrides.notifySuccess ?? true,
        notifyFailure: true,
      }).finish(),
      { retryPolicy: overrides.retryPolicy ?? NO_RETRY, responseType: overrides.responseType ?? ResponseType.DIRECT },
    );
  const mailWorker = (retryPolicy = NO_RETRY) =>
    createWorker(
      6,
      MailRunnerSettings.encode({
        host: '127.0.0.1',
        port: smtp.port,
        username: SMTP_USER,
        password: SMTP_PASSWORD,
        starttls: false,
        secure: false,
        defaultFrom: 'Jobworkerp <jobs@example.com>',
      }).finish(),
      { retryPolicy },
    );
  const mailArgs = (subject: string) =>
    MailArgs.encode({
      to: ['ann@example.com'],
      cc: ['bob@example.com'],
      bcc: [],
      subject,
      text: 'The export finished.',
      html: '<p>The export <b>finished</b>.</p>',
    }).finish();

  beforeAll(async () => {
    slack = await startSlackPeer();
    smtp = await startSmtpPeer();
    // trace logging, so that the check below covers every log line the runners could cause
    server = await startServer({ env: { SLACK_API_BASE_URL: slack.baseUrl, LOG_LEVEL: 'trace' } });
    c = connect(server.address);
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
    // secrets never reach the process output (logs), whatever happened above
    expect(server.output()).not.toContain(BOT_TOKEN);
    expect(server.output()).not.toContain(SMTP_PASSWORD);
    await slack?.close();
    await smtp?.close();
  });

  describe('SLACK_NOTIFICATION', () => {
    it('posts the job result with the bot token and returns Slack’s answer', async () => {
      const before = slack.posts.length;
      const res = await enqueue(await slackWorker(), jobResultArgs(ResultStatus.SUCCESS, 'exported 42 rows'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(JSON.parse(text(res))).toMatchObject({ ok: true, ts: '1700000000.000100' });
      const post = slack.posts[before]!;
      expect(post.authorization).toBe(`Bearer ${BOT_TOKEN}`);
      expect(post.json.channel).toBe('#ops');
      for (const part of ['Nightly export', 'nightly-export', '777', 'SUCCESS', 'exported 42 rows']) {
        expect(post.json.text).toContain(part);
      }
    });

    it('receives the whole JobResult of a worker that lists it in next_workers', async () => {
      const before = slack.posts.length;
      const notify = await slackWorker({ responseType: ResponseType.NO_RESULT });
      const echo = await createWorker(COMMAND_RUNNER_ID, commandSettings('echo'), {
        nextWorkers: [{ value: notify }],
      });
      const res = await enqueue(echo, commandArgs('chained output'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      await expect.poll(() => slack.posts.length, { timeout: 10_000 }).toBe(before + 1);
      const posted = slack.posts[before]!.json.text;
      expect(posted).toContain('chained output');
      expect(posted).toContain(String(res?.data?.jobId?.value));
    });

    it('posts nothing for a success when notify_success is off', async () => {
      const before = slack.posts.length;
      const res = await enqueue(await slackWorker({ notifySuccess: false }), jobResultArgs(ResultStatus.SUCCESS, 'x'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(items(res)).toEqual([]);
      expect(slack.posts.length).toBe(before);
    });

    it('retries a rate-limited post by the worker policy until it goes through', async () => {
      const before = slack.posts.length;
      slack.answers.push((res) => res.end('{"ok":false,"error":"ratelimited"}'));
      const res = await enqueue(
        await slackWorker({ retryPolicy: TWO_RETRIES }),
        jobResultArgs(ResultStatus.MAX_RETRY, 'gave up'),
      );
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(res?.data?.retried).toBe(1);
      expect(slack.posts.length).toBe(before + 2);
      expect(slack.posts[before]!.json.text).toContain('MAX_RETRY');
    });

    it('fails invalid_auth as FATAL_ERROR without retrying and without the token in the result', async () => {
      const before = slack.posts.length;
      slack.answers.push((res) => res.end('{"ok":false,"error":"invalid_auth"}'));
      const w = await slackWorker({ retryPolicy: TWO_RETRIES });
      const res = await enqueue(w, jobResultArgs(ResultStatus.SUCCESS, 'x'));
      expect(statusOf(res)).toBe(ResultStatus.FATAL_ERROR);
      expect(slack.posts.length).toBe(before + 1);
      expect(text(res)).toMatch(/invalid_auth/);
      expect(Buffer.from(JobResult.encode(res!).finish()).toString('latin1')).not.toContain(BOT_TOKEN);
    });

    it('aborts the post at the job timeout', async () => {
      const before = slack.posts.length;
      slack.answers.push(() => undefined);
      const started = Date.now();
      const res = await enqueue(await slackWorker(), jobResultArgs(ResultStatus.SUCCESS, 'x'), 200);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
      expect(await slack.posts[before]!.aborted).toBe(true);
    });
  });

  describe('MAIL', () => {
    it('logs in and delivers the message with from, to, cc, subject, text and html', async () => {
      const before = smtp.messages.length;
      const res = await enqueue(await mailWorker(), mailArgs('Export done'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(smtp.logins.at(-1)).toEqual({ username: SMTP_USER, password: SMTP_PASSWORD });
      expect(smtp.messages.length).toBe(before + 1);
      const mail = await simpleParser(smtp.messages.at(-1)!);
      expect(mail.from?.value).toEqual([{ name: 'Jobworkerp', address: 'jobs@example.com' }]);
      expect([mail.to].flat().flatMap((a) => a?.value.map((v) => v.address))).toEqual(['ann@example.com']);
      expect([mail.cc].flat().flatMap((a) => a?.value.map((v) => v.address))).toEqual(['bob@example.com']);
      expect(mail.subject).toBe('Export done');
      expect(mail.text?.trim()).toBe('The export finished.');
      expect(mail.html).toContain('<p>The export <b>finished</b>.</p>');
      const result = MailResult.decode(items(res)[0]!);
      expect(result.accepted.sort()).toEqual(['ann@example.com', 'bob@example.com']);
      expect(result.messageId).toBe(mail.messageId);
    });

    it('retries a temporary 4xx rejection by the worker policy until the message is accepted', async () => {
      const before = smtp.messages.length;
      const busy = Object.assign(new Error('Mailbox temporarily unavailable'), { responseCode: 451 });
      smtp.rcptErrors.push(busy, busy);
      const res = await enqueue(await mailWorker(TWO_RETRIES), mailArgs('Second try'));
      expect(statusOf(res)).toBe(ResultStatus.SUCCESS);
      expect(res?.data?.retried).toBe(1);
      expect(smtp.messages.length).toBe(before + 1);
    });

    it('fails a permanent 5xx rejection as FATAL_ERROR without retrying', async () => {
      const loginsBefore = smtp.logins.length;
      const unknown = Object.assign(new Error('No such user'), { responseCode: 550 });
      smtp.rcptErrors.push(unknown, unknown);
      const res = await enqueue(await mailWorker(TWO_RETRIES), mailArgs('Never'));
      expect(statusOf(res)).toBe(ResultStatus.FATAL_ERROR);
      expect(text(res)).toMatch(/550/);
      expect(smtp.logins.length).toBe(loginsBefore + 1);
    });

    it('drops the SMTP connection at the job timeout', async () => {
      smtp.hangData = true;
      try {
        const closedBefore = smtp.closedSessions;
        const started = Date.now();
        const res = await enqueue(await mailWorker(), mailArgs('Slow'), 200);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(statusOf(res)).toBe(ResultStatus.MAX_RETRY);
        await expect.poll(() => smtp.closedSessions).toBeGreaterThan(closedBefore);
      } finally {
        smtp.hangData = false;
      }
    });
  });
});
