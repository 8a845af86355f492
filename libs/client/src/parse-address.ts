import { InvalidInputError } from './input-error.js';

/** The port used when the address names only a host, whatever the scheme. @default 9000 */
const DEFAULT_PORT = 9000;

/** Where a client connects, and how. */
export interface ServerAddress {
  /** the `host:port` gRPC dials (`[::1]:port` for IPv6) */
  readonly target: string;
  /** the host alone, without brackets: what TLS checks the server's certificate against */
  readonly host: string;
  readonly port: number;
  /** `https://`: TLS; `http://` or no scheme: plain-text HTTP/2 */
  readonly tls: boolean;
}

/**
 * Reads an address: `https://host:port` (TLS), `http://host:port`, `host:port` or `host` (plain text), with IPv6
 * hosts in brackets (`[::1]:port`). The port is 9000 when left out. Anything else is an InvalidInputError.
 */
export function parseServerAddress(address: string): ServerAddress {
  let rest = address.trim();
  let tls = false;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme !== null) {
    const name = scheme[1]!.toLowerCase();
    if (name !== 'http' && name !== 'https') {
      throw new InvalidInputError(
        `address ${JSON.stringify(address)}: use https:// (TLS) or http:// (plain text), not ${name}://`,
      );
    }
    tls = name === 'https';
    rest = rest.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[^:/\s[\]]+)(?::(\d+))?$/i.exec(rest);
  if (m === null) {
    throw new InvalidInputError(
      `address ${JSON.stringify(address)} is not an address; use https://host:port or http://host:port`,
    );
  }
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`address ${JSON.stringify(address)}: port must be between 1 and 65535`);
  }
  const hostPart = m[1]!;
  const host = hostPart.startsWith('[') ? hostPart.slice(1, -1) : hostPart;
  return { target: `${hostPart}:${port}`, host, port, tls };
}

/** The `host:port` target gRPC dials for an address (see parseServerAddress; the scheme only picks TLS or not). */
export function parseAddress(address: string): string {
  return parseServerAddress(address).target;
}
