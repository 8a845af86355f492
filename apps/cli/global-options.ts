import type { Command } from 'commander';
import { Option } from 'commander';
import { AUTH_TOKEN_ENV } from './cli-env.js';
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
}

/** The long flags of the global options (to hint that they go before the command when given after it). */
export const GLOBAL_FLAGS = ['--address', '--timeout', '--auth-token', '--format'] as const;

/** Adds the global options to the root command. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option('-a, --address <url>', 'the server (http://host:port or host:port)', 'http://localhost:9000')
    .option('-t, --timeout <ms>', 'deadline of each gRPC call in ms (default: none)', parseWholeNumber)
    .option('--auth-token <token>', `auth token sent as metadata jobworkerp-auth (default: $${AUTH_TOKEN_ENV})`)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'));
}
