import { status } from '@grpc/grpc-js';
import { CommanderError } from 'commander';
import { AUTH_TOKEN_ENV, TLS_ENV } from './cli-env.js';
import type { TlsProblem } from '../../libs/client/src/index.js';
import { InvalidInputError, isServiceError, StatusError } from '../../libs/client/src/index.js';
import { UsageError } from './usage-error.js';

/** What the CLI prints for a failure (one line, or nothing when commander already printed it) and its exit code. */
export interface ErrorReport {
  readonly line: string | undefined;
  readonly exitCode: number;
}

/** Exit codes: 1 for a server or connection error, 2 for a usage error, 130 after Ctrl-C. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/**
 * Turns anything a command threw into one line for stderr and an exit code. Never a stack trace; the auth token is
 * never part of any message (the server does not echo it either).
 */
export function errorReport(err: unknown, interrupted: boolean): ErrorReport {
  if (err instanceof CommanderError) {
    // commander printed the message (or the help) already
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
    return { line: undefined, exitCode: ok ? EXIT.ok : EXIT.usage };
  }
  if (interrupted) return { line: 'error: interrupted', exitCode: EXIT.interrupted };
  if (err instanceof UsageError || err instanceof InvalidInputError)
    return { line: `error: ${oneLine(err.message)}`, exitCode: EXIT.usage };
  if (err instanceof StatusError) {
    const hint = err.tlsProblem === undefined ? '' : TLS_HINTS[err.tlsProblem];
    return { line: `error: ${err.code}: ${oneLine(err.message)}${hint}`, exitCode: EXIT.failure };
  }
  if (isServiceError(err)) {
    const name = status[err.code] ?? `code ${err.code}`;
    const hint = err.code === status.UNAUTHENTICATED ? ` (pass --auth-token or set ${AUTH_TOKEN_ENV})` : '';
    return { line: `error: ${name}: ${oneLine(err.details || err.message)}${hint}`, exitCode: EXIT.failure };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { line: `error: ${oneLine(message)}`, exitCode: EXIT.failure };
}

/** The options that fix a TLS problem the client library found. */
const TLS_HINTS: Record<TlsProblem, string> = {
  'server-speaks-tls': ` (the CA file: --ca-file or $${TLS_ENV.caFile})`,
  'server-plain-text': ' (-a http://...)',
  'untrusted-certificate': ` (--ca-file or $${TLS_ENV.caFile})`,
  'certificate-name': '',
  'certificate-dates': '',
  'client-certificate': ` (--cert-file and --key-file, or $${TLS_ENV.certFile} and $${TLS_ENV.keyFile})`,
  handshake: '',
};

/** Collapses a message onto one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
