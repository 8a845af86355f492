import type { GrpcConnection, Lookups } from '../../libs/client/src/index.js';
import { JobworkerpClient, parseServerAddress } from '../../libs/client/src/index.js';
import { authTokenFromEnv, tlsFilesFromEnv } from './cli-env.js';
import type { GlobalOptions } from './global-options.js';
import { Printer } from './printer.js';

/** What a command works with: the client (its connection and cached lookups), the printer and the Ctrl-C signal. */
export interface CliSession {
  readonly client: JobworkerpClient;
  readonly conn: GrpcConnection;
  readonly lookups: Lookups;
  readonly print: Printer;
  readonly signal: AbortSignal;
  /** writes a note on stderr (only when it is a terminal) */
  readonly note: (text: string) => void;
}

/** Opens a session from the global options; close it with `session.client.close()`. */
export function openSession(
  global: GlobalOptions,
  signal: AbortSignal,
  write: (text: string) => void,
  note: (text: string) => void,
): CliSession {
  // the env's TLS files serve https:// addresses; options given on the command line are checked against the address
  const env = parseServerAddress(global.address).tls ? tlsFilesFromEnv() : tlsFilesFromEnv({});
  const client = new JobworkerpClient({
    address: global.address,
    caFile: global.caFile ?? env.caFile,
    certFile: global.certFile ?? env.certFile,
    keyFile: global.keyFile ?? env.keyFile,
    authToken: global.authToken ?? authTokenFromEnv(),
    timeoutMs: global.timeout,
    signal,
    // one command line: what it looked up holds for its whole run (a result that arrived needs no more calls)
    lookupTtlMs: Number.POSITIVE_INFINITY,
  });
  return { client, conn: client.conn, lookups: client.lookups, print: new Printer(global.format, write), signal, note };
}
