import type { Command } from 'commander';
import { Option } from 'commander';
import { AUTH_TOKEN_ENV, TLS_ENV } from './cli-env.js';
import { parseWholeNumber } from './option-parsers.js';
import type { OutputFormat } from './printer.js';

/** The options that go before the command. */
export interface GlobalOptions {
  /** @default 'http://localhost:9000' */
  readonly address: string;
  /** the gRPC deadline of each call in ms; none by default */
  readonly timeout: number | undefined;
  /** the auth token; JOBWORKERP_AUTH_TOKEN when not given */
  readonly authToken: string | undefined;
  /** @default 'table' */
  readonly format: OutputFormat;
  /** https:// only: the PEM CA to trust; JOBWORKERP_CA_FILE when not given, else the system's CAs */
  readonly caFile: string | undefined;
  /** https:// only: a client certificate (mutual TLS); JOBWORKERP_CERT_FILE when not given */
  readonly certFile: string | undefined;
  /** https:// only: the key of certFile; JOBWORKERP_KEY_FILE when not given */
  readonly keyFile: string | undefined;
}

/** The long flags of the global options (to hint that they go before the command when given after it). */
export const GLOBAL_FLAGS = [
  '--address',
  '--timeout',
  '--auth-token',
  '--format',
  '--ca-file',
  '--cert-file',
  '--key-file',
] as const;

/** Adds the global options to the root command. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option(
      '-a, --address <url>',
      'the server: https://host:port (TLS), http://host:port or host:port (plain text)',
      'http://localhost:9000',
    )
    .option('-t, --timeout <ms>', 'deadline of each gRPC call in ms (default: none)', parseWholeNumber)
    .option('--auth-token <token>', `auth token sent as metadata jobworkerp-auth (default: $${AUTH_TOKEN_ENV})`)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option(
      '--ca-file <file>',
      `https:// only: PEM CA certificate(s) to trust instead of the system's (default: $${TLS_ENV.caFile})`,
    )
    .option(
      '--cert-file <file>',
      `https:// only: PEM client certificate, for mutual TLS (default: $${TLS_ENV.certFile})`,
    )
    .option('--key-file <file>', `https:// only: PEM key of --cert-file (default: $${TLS_ENV.keyFile})`);
}
