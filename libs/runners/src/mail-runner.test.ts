import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import type { SMTPServerAddress, SMTPServerAuthentication } from 'smtp-server';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MailArgs as Args, MailRunnerSettings as Settings } from '../../proto/src/index.js';
import { MailArgs, MailResult, MailRunnerSettings } from '../../proto/src/index.js';
import { mailErrorKind, MailRunner } from './mail-runner.js';
import { context, runnerError } from './testing/run-context.js';

const PASSWORD = 'pa55-unit-secret';

/** How the test server answers each step; reset before every test. */
interface Behaviour {
  auth: (auth: SMTPServerAuthentication) => Error | undefined;
  rcpt: (address: SMTPServerAddress) => Error | undefined;
  /** an error, 'hang', or the text of the 250 reply (undefined = the default one) */
  data: (raw: Buffer) => Error | undefined | 'hang' | { reply: string };
}

let server: SMTPServer;
let port: number;
let behaviour: Behaviour;
let received: Buffer[];
let closedSessions = 0;
const runners: MailRunner[] = [];

const smtpError = (message: string, responseCode: number): Error => Object.assign(new Error(message), { responseCode });

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) => {
      const error = behaviour.auth(auth);
      if (error === undefined) callback(null, { user: auth.username });
      else callback(error);
    },
    onRcptTo: (address, _session, callback) => callback(behaviour.rcpt(address) ?? null),
    onData: (stream: Readable, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const outcome = behaviour.data(raw);
        if (outcome === 'hang') return;
        if (outcome instanceof Error) {
          callback(outcome);
          return;
        }
        received.push(raw);
        if (outcome === undefined) callback(null);
        else callback(null, outcome.reply);
      });
    },
    onClose: () => {
      closedSessions += 1;
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received = [];
  behaviour = {
    auth: (auth) =>
      auth.username === 'mailer' && auth.password === PASSWORD ? undefined : smtpError('Invalid credentials', 535),
    rcpt: () => undefined,
    data: () => undefined,
  };
});

async function loaded(overrides: Partial<Settings> = {}): Promise<MailRunner> {
  const runner = new MailRunner();
  runners.push(runner);
  const settings: Settings = {
    host: '127.0.0.1',
    port,
    username: 'mailer',
    password: PASSWORD,
    starttls: false,
    secure: false,
    defaultFrom: 'Jobs <jobs@example.com>',
    ...overrides,
  };
  await runner.load(MailRunnerSettings.encode(settings).finish());
  return runner;
}

function args(overrides: Partial<Args> = {}): Uint8Array {
  const mail: Args = { to: ['ann@example.com'], cc: [], bcc: [], subject: 'Hi', text: 'Hello', ...overrides };
  return MailArgs.encode(mail).finish();
}

describe('mailErrorKind', () => {
  it('classifies by SMTP reply first, then by nodemailer error code', () => {
    const error = (fields: object): Error => Object.assign(new Error('x'), fields);
    expect(mailErrorKind(error({ code: 'EENVELOPE', responseCode: 550 }))).toBe('fatal');
    expect(mailErrorKind(error({ code: 'EAUTH', responseCode: 535 }))).toBe('fatal');
    expect(mailErrorKind(error({ code: 'EENVELOPE', responseCode: 451 }))).toBe('retryable');
    expect(mailErrorKind(error({ code: 'EAUTH', responseCode: 454 }))).toBe('retryable');
    expect(mailErrorKind(error({ code: 'EPROTOCOL', responseCode: 503 }))).toBe('retryable');
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS']) {
      expect(mailErrorKind(error({ code }))).toBe('retryable');
    }
    for (const code of ['ETLS', 'EAUTH', 'ENOAUTH', 'EENVELOPE', 'EMESSAGE']) {
      expect(mailErrorKind(error({ code }))).toBe('fatal');
    }
    expect(mailErrorKind(new Error('unknown'))).toBe('retryable');
  });
});

describe('MailRunner', () => {
  it('refuses unusable settings', async () => {
    expect((await runnerError(loaded({ host: '' }))).message).toContain('empty host');
    expect((await runnerError(loaded({ port: 70000 }))).message).toContain('port 70000');
    expect((await runnerError(loaded({ username: undefined }))).message).toContain('password but no username');
  });

  it('refuses a job without a sender or recipients, before connecting', async () => {
    const noDefault = await loaded({ defaultFrom: undefined });
    expect((await runnerError(noDefault.run(args(), context()))).message).toContain('no sender');
    const runner = await loaded();
    const error = await runnerError(runner.run(args({ to: [] }), context()));
    expect(error.kind).toBe('fatal');
    expect(error.message).toContain('no recipients');
    expect(received).toEqual([]);
  });

  it('authenticates, sends text and html to every recipient, and reports the delivery', async () => {
    const output = await (
      await loaded()
    ).run(
      args({
        to: ['ann@example.com'],
        cc: ['bob@example.com'],
        bcc: ['eve@example.com'],
        replyTo: 'desk@example.com',
        subject: 'Report ✓',
        text: 'plain body',
        html: '<p>html body</p>',
      }),
      context(),
    );
    expect(received).toHaveLength(1);
    const mail = await simpleParser(received[0]!);
    expect(mail.from?.value).toEqual([{ name: 'Jobs', address: 'jobs@example.com' }]);
    expect(mail.subject).toBe('Report ✓');
    expect(mail.text?.trim()).toBe('plain body');
    expect(mail.html).toContain('<p>html body</p>');
    expect(mail.replyTo?.text).toBe('desk@example.com');
    expect(mail.headers.get('bcc')).toBeUndefined();

    const result = MailResult.decode(output[0]!);
    expect(result.accepted.sort()).toEqual(['ann@example.com', 'bob@example.com', 'eve@example.com']);
    expect(result.rejected).toEqual([]);
    expect(result.messageId).toBe(mail.messageId);
    expect(result.response).toMatch(/^250/);
  });

  it('succeeds when only some recipients are rejected, listing them', async () => {
    behaviour.rcpt = (address) => (address.address === 'gone@example.com' ? smtpError('No such user', 550) : undefined);
    const output = await (await loaded()).run(args({ to: ['ann@example.com', 'gone@example.com'] }), context());
    expect(MailResult.decode(output[0]!)).toMatchObject({
      accepted: ['ann@example.com'],
      rejected: ['gone@example.com'],
    });
  });

  it('retries 4xx replies and fails 5xx replies for good', async () => {
    const runner = await loaded();
    behaviour.rcpt = () => smtpError('Mailbox busy, try later', 451);
    const busy = await runnerError(runner.run(args(), context()));
    expect(busy.kind).toBe('retryable');
    expect(busy.message).toContain('451');

    behaviour.rcpt = () => undefined;
    behaviour.data = () => smtpError('Message rejected as spam', 554);
    const spam = await runnerError(runner.run(args(), context()));
    expect(spam.kind).toBe('fatal');
    expect(spam.message).toContain('554');
  });

  it('fails a rejected login for good and never shows the password, even when the server echoes it', async () => {
    behaviour.auth = (auth) => smtpError(`Wrong password ${auth.password}`, 535);
    const error = await runnerError((await loaded()).run(args(), context()));
    expect(error.kind).toBe('fatal');
    expect(error.message).toContain('535');
    expect(error.message).toContain('Wrong password ***');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('keeps no AUTH exchange or base64 credentials from server replies, in failures and in the result', async () => {
    const plain = Buffer.from(`\0mailer\0${PASSWORD}`).toString('base64');
    const login = [Buffer.from('mailer').toString('base64'), Buffer.from(PASSWORD).toString('base64')];
    const leaks = [PASSWORD, plain, ...login, plain.slice(0, 12)];

    behaviour.auth = () => smtpError(`5.7.8 authentication failed for AUTH PLAIN ${plain.slice(0, 12)}…`, 535);
    const error = await runnerError((await loaded()).run(args(), context()));
    expect(error.message).toContain('535');
    expect(error.message).toContain('AUTH PLAIN ***');
    for (const leak of leaks) expect(error.message).not.toContain(leak);

    behaviour.auth = () => undefined;
    behaviour.data = () => ({ reply: `queued; session did AUTH PLAIN ${plain} then AUTH LOGIN, ${login.join(' ')}` });
    const result = MailResult.decode((await (await loaded()).run(args(), context()))[0]!);
    expect(result.response).toMatch(/^250 queued; session did AUTH PLAIN \*\*\* then AUTH LOGIN \*\*\*/);
    for (const leak of leaks) expect(result.response).not.toContain(leak);
  });

  it('fails for good when STARTTLS is required but not offered', async () => {
    const error = await runnerError((await loaded({ starttls: true })).run(args(), context()));
    expect(error.kind).toBe('fatal');
    expect(error.message).toContain('STARTTLS');
    expect(received).toEqual([]);
  });

  it('retries when the server cannot be reached', async () => {
    const error = await runnerError((await loaded({ port: 1 })).run(args(), context()));
    expect(error.kind).toBe('retryable');
  });

  it('closes the connection when the signal fires and rejects with its reason', async () => {
    behaviour.data = () => 'hang';
    const closedBefore = closedSessions;
    const controller = new AbortController();
    const reason = new Error('job timed out');
    const running = (await loaded()).run(args(), context(controller.signal));
    setTimeout(() => controller.abort(reason), 200);
    await expect(running).rejects.toBe(reason);
    await expect.poll(() => closedSessions).toBeGreaterThan(closedBefore);
  });
});
