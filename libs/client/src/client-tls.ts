import { readFileSync } from 'node:fs';
import { InvalidInputError } from './input-error.js';

/** The files of a TLS client: the CA to trust instead of the system's, and a certificate for mutual TLS. */
export interface ClientTlsFiles {
  /** PEM CA certificate(s) the server's certificate must chain to; the system's trusted CAs when absent */
  readonly caFile?: string | undefined;
  /** PEM client certificate, for a server that asks for one (mutual TLS); needs keyFile */
  readonly certFile?: string | undefined;
  /** PEM private key of certFile (without a passphrase) */
  readonly keyFile?: string | undefined;
}

/** What a TLS channel is made of (PEM contents). */
export interface ClientTls {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/**
 * Reads the TLS files for an address: undefined for a plain-text address (with no files given), the PEM contents for
 * an https:// one. Files that are missing, not PEM, a certificate without its key (or the reverse), or files given
 * for a plain-text address are an InvalidInputError naming the file (never its content).
 */
export function readClientTls(tls: boolean, files: ClientTlsFiles, address: string): ClientTls | undefined {
  const given = (['caFile', 'certFile', 'keyFile'] as const).filter((k) => files[k] !== undefined);
  if (!tls) {
    if (given.length > 0) {
      throw new InvalidInputError(
        `${describe(given[0]!)} is for TLS, but ${JSON.stringify(address)} is a plain-text address; ` +
          `use https:// to connect over TLS`,
      );
    }
    return undefined;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new InvalidInputError(
      files.certFile === undefined
        ? 'a client key file needs its certificate file too (mutual TLS takes both)'
        : 'a client certificate file needs its key file too (mutual TLS takes both)',
    );
  }
  return {
    ca: files.caFile === undefined ? undefined : readPem('caFile', files.caFile, /-----BEGIN CERTIFICATE-----/),
    cert: files.certFile === undefined ? undefined : readPem('certFile', files.certFile, /-----BEGIN CERTIFICATE-----/),
    key:
      files.keyFile === undefined ? undefined : readPem('keyFile', files.keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

function describe(kind: keyof ClientTlsFiles): string {
  return kind === 'caFile' ? 'a CA file' : kind === 'certFile' ? 'a client certificate file' : 'a client key file';
}

function readPem(kind: keyof ClientTlsFiles, file: string, expected: RegExp): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new InvalidInputError(`${describe(kind)} ${JSON.stringify(file)} cannot be read: ${why}`);
  }
  if (!expected.test(content.toString('latin1'))) {
    const what = kind === 'keyFile' ? 'a PEM private key' : 'a PEM certificate';
    throw new InvalidInputError(`${describe(kind)} ${JSON.stringify(file)} does not hold ${what}`);
  }
  return content;
}
