import { InvalidInputError } from './input-error.js';

/** The port used when the address names only a host. @default 9000 */
const DEFAULT_PORT = 9000;

/**
 * Turns an address (`http://host:port`, `host:port`, `host` or `[::1]:port`) into the `host:port` target gRPC
 * dials. Only plain-text HTTP/2 is supported, so an `https://` address is an InvalidInputError.
 */
export function parseAddress(address: string): string {
  let rest = address.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme !== null) {
    if (scheme[1]!.toLowerCase() !== 'http') {
      throw new InvalidInputError(`address ${JSON.stringify(address)}: only http:// addresses are supported (no TLS)`);
    }
    rest = rest.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[^:/\s[\]]+)(?::(\d+))?$/i.exec(rest);
  if (m === null) {
    throw new InvalidInputError(`address ${JSON.stringify(address)} is not an address; use http://host:port`);
  }
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`address ${JSON.stringify(address)}: port must be between 1 and 65535`);
  }
  return `${m[1]!}:${port}`;
}
