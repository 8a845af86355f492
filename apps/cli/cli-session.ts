import { authTokenFromEnv } from './cli-env.js';
import type { GlobalOptions } from './global-options.js';
import { GrpcConnection } from './grpc-connection.js';
import { Lookups } from './lookups.js';
import { parseAddress } from './parse-address.js';
import { Printer } from './printer.js';

/** How long to wait for the connection when no `--timeout` is given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** What a command works with: the connection, cached lookups, the printer and the Ctrl-C signal. */
export interface CliSession {
  readonly conn: GrpcConnection;
  readonly lookups: Lookups;
  readonly print: Printer;
  readonly signal: AbortSignal;
}

/** Opens a session from the global options; close it with `session.conn.close()`. */
export function openSession(global: GlobalOptions, signal: AbortSignal, write: (text: string) => void): CliSession {
  const conn = new GrpcConnection({
    target: parseAddress(global.address),
    authToken: global.authToken ?? authTokenFromEnv(),
    callTimeoutMs: global.timeout,
    connectTimeoutMs: global.timeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    signal,
  });
  return { conn, lookups: new Lookups(conn), print: new Printer(global.format, write), signal };
}
