/**
 * The MAIL runner (built-in runner 6, RunnerType MAIL = 100, an extension): sends one e-mail per job over SMTP with
 * nodemailer.
 *
 * Semantics:
 * - settings `MailRunnerSettings`: `host` (required), `port` (0 = 465 with `secure`, else 587), `secure` (TLS from
 *   the first byte, port 465 style), `starttls` (require a STARTTLS upgrade; fail when the server does not offer
 *   it; without it an offered STARTTLS is still used), `username`/`password` (when a username is set the client
 *   always authenticates, even if the server does not advertise AUTH, so a misconfigured server fails loudly
 *   instead of relaying unauthenticated), `default_from`;
 * - args `MailArgs`: `from` (else the settings' default_from; neither → fatal), `to`/`cc`/`bcc` (at least one
 *   recipient in all, else fatal), `reply_to`, `subject`, `text`, optional `html` (sent as multipart/alternative);
 * - the result item is `MailResult { message_id, accepted, rejected, response }`; a message some recipients
 *   rejected still succeeds (they are listed in `rejected`);
 * - SMTP replies: 5xx (except 503, a sequencing error) → `RunnerError('fatal')`, other error replies (4xx) →
 *   `RunnerError('retryable')`; connection errors, timeouts and DNS failures → retryable; TLS failures, missing
 *   credentials and malformed envelopes → fatal;
 * - connecting and the greeting time out after 10 s, an idle socket after 60 s; `ctx.signal` aborted → the SMTP
 *   connection is closed at once and run() rejects with `ctx.signal.reason`.
 *
 * The credentials never leave the transport: nodemailer's logger and debug output are off, and the server's reply
 * text, in failure messages and in `MailResult.response`, has the password, the credentials in base64 and whatever
 * follows an `AUTH <mechanism>` removed, in case a server quotes the AUTH exchange.
 */
import type { NodemailerError, SMTPSentMessageInfo, SMTPTransportOptions, Transporter } from 'nodemailer';
import { createTransport } from 'nodemailer';
import type { MailRunnerSettings as Settings } from '../../proto/src/index.js';
import { MailArgs, MailResult, MailRunnerSettings } from '../../proto/src/index.js';
import { MAIL_RUNNER_ID } from './builtin-runners.js';
import { builtinRunnerRow } from './builtin-runner-row.js';
import { decodeRunnerMessage } from './decode-runner-message.js';
import { errorMessage } from './error-message.js';
import type { FailureKind, RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 60_000;

/** nodemailer error codes of failures that did not get an SMTP reply but may pass on a later attempt. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'EPROTOCOL', 'EPROXY']);

type SmtpTransport = Transporter<SMTPSentMessageInfo, SMTPTransportOptions>;

/** Sends one e-mail per job; see the module comment for the exact semantics. */
export class MailRunner implements Runner {
  private settings: Settings | undefined;
  private transport: SmtpTransport | undefined;

  async load(settings: Uint8Array): Promise<void> {
    const decoded = decodeRunnerMessage('MailRunnerSettings', MailRunnerSettings, settings);
    if (decoded.host.trim() === '') {
      throw new RunnerError('MAIL runner settings have an empty host; set it to the SMTP server', 'fatal');
    }
    if (decoded.port > 65535) {
      throw new RunnerError(`MAIL runner settings port ${decoded.port} is not between 1 and 65535`, 'fatal');
    }
    const username = decoded.username ?? '';
    if (username === '' && (decoded.password ?? '') !== '') {
      throw new RunnerError('MAIL runner settings have a password but no username', 'fatal');
    }
    this.transport?.close();
    this.settings = decoded;
    this.transport = createTransport({
      host: decoded.host,
      ...(decoded.port > 0 ? { port: decoded.port } : {}),
      secure: decoded.secure,
      requireTLS: decoded.starttls,
      ...(username !== '' ? { auth: { user: username, pass: decoded.password ?? '' }, forceAuth: true } : {}),
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: GREETING_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      // never log: the SMTP dialogue carries the credentials
      logger: false,
      debug: false,
      transactionLog: false,
      // jobs give plain strings; never let message content point nodemailer at local files or URLs
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const settings = this.settings;
    const transport = this.transport;
    if (settings === undefined || transport === undefined) {
      throw new RunnerError('MAIL runner was run before load()', 'other');
    }
    const mail = decodeRunnerMessage('MailArgs', MailArgs, args);
    const from = nonEmpty(mail.from) ?? nonEmpty(settings.defaultFrom);
    if (from === undefined) {
      throw new RunnerError("MAIL job has no sender: set args.from or the worker's default_from", 'fatal');
    }
    if (mail.to.length + mail.cc.length + mail.bcc.length === 0) {
      throw new RunnerError('MAIL job has no recipients: set args.to, cc or bcc', 'fatal');
    }
    ctx.signal.throwIfAborted();
    let info: SMTPSentMessageInfo;
    try {
      info = await transport.sendMail({
        from,
        to: mail.to,
        cc: mail.cc,
        bcc: mail.bcc,
        replyTo: nonEmpty(mail.replyTo),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        signal: ctx.signal,
      });
    } catch (error) {
      if (ctx.signal.aborted) {
        throw ctx.signal.reason;
      }
      throw mailFailure(settings, error);
    }
    const result = MailResult.encode({
      messageId: info.messageId,
      accepted: info.accepted.map(String),
      rejected: info.rejected.map(String),
      response: redactCredentials(settings, info.response),
    });
    return [result.finish()];
  }

  async close(): Promise<void> {
    this.transport?.close();
    this.transport = undefined;
  }
}

/** The MAIL row of the built-in runners, backed by MailRunner. */
export function mailRunnerDefinition(): RunnerDefinition {
  return { ...builtinRunnerRow(MAIL_RUNNER_ID), create: () => new MailRunner() };
}

/**
 * How a failed send is classified: by the SMTP reply when there is one (5xx except 503 fatal, the rest retryable),
 * else by nodemailer's error code (connection trouble retryable, configuration and envelope problems fatal);
 * errors without a code are retryable.
 */
export function mailErrorKind(error: unknown): FailureKind {
  const { responseCode, code } = (error instanceof Error ? error : {}) as Partial<NodemailerError>;
  if (typeof responseCode === 'number' && responseCode > 0) {
    return responseCode >= 500 && responseCode < 600 && responseCode !== 503 ? 'fatal' : 'retryable';
  }
  if (code === undefined || TRANSIENT_CODES.has(code)) {
    return 'retryable';
  }
  return 'fatal';
}

/**
 * A RunnerError for a failed send, naming the server but never the credentials. The nodemailer error is not kept as
 * the cause, so nothing that reaches a logger holds the transport's state.
 */
function mailFailure(settings: Settings, error: unknown): RunnerError {
  const server = `${settings.host}:${settings.port || 'default port'}`;
  const message = `sending mail through ${server} failed: ${errorMessage(error)}`;
  return new RunnerError(redactCredentials(settings, message), mailErrorKind(error));
}

/** An SMTP AUTH command or challenge as a server may quote it: the mechanism, then its argument (base64, mostly). */
const AUTH_EXCHANGE = /\b(AUTH\s+[A-Z0-9_-]+)(?:\s+[^\s,;"')\]]+)?/gi;

/**
 * The server's reply text without credentials: the password as is, the username, the password and the AUTH PLAIN
 * blob in base64, and the argument of any quoted `AUTH <mechanism> ...` become `***`.
 */
export function redactCredentials(settings: Pick<Settings, 'username' | 'password'>, text: string): string {
  const username = settings.username ?? '';
  const password = settings.password ?? '';
  const base64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64');
  const secrets = [password, base64(`\0${username}\0${password}`), base64(`${username}\0${username}\0${password}`)];
  if (password !== '') secrets.push(base64(password));
  if (username !== '') secrets.push(base64(username));
  let out = text.replace(AUTH_EXCHANGE, '$1 ***');
  for (const secret of secrets.filter((s) => s !== '').sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, '***');
  }
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
