import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TlsFiles } from '../../libs/config/src/index.js';
import type { TlsMaterial } from '../../libs/front/src/index.js';

/**
 * Reads the TLS files of the config (GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE, GRPC_TLS_CLIENT_CA_FILE) once, at start,
 * and checks them: each file exists, holds PEM of the right kind, and the key belongs to the certificate. Anything
 * wrong stops the start with an error naming the variable and the file (never the key's content). Undefined when TLS
 * is off.
 *
 * The one material of a process: the gRPC port and every HTTP listener (startHttpListener's `tls`) take it.
 */
export function readTlsMaterial(files: TlsFiles | undefined): TlsMaterial | undefined {
  if (files === undefined) return undefined;
  const cert = readPem('GRPC_TLS_CERT_FILE', files.certFile);
  const key = readPem('GRPC_TLS_KEY_FILE', files.keyFile);
  checkCertificates('GRPC_TLS_CERT_FILE', files.certFile, cert);
  checkKey(files.keyFile, key);
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new Error(
      `GRPC_TLS_KEY_FILE (${files.keyFile}) does not hold the private key of the certificate in GRPC_TLS_CERT_FILE ` +
        `(${files.certFile})`,
    );
  }
  if (files.clientCaFile === undefined) return { cert, key };
  const clientCa = readPem('GRPC_TLS_CLIENT_CA_FILE', files.clientCaFile);
  checkCertificates('GRPC_TLS_CLIENT_CA_FILE', files.clientCaFile, clientCa);
  return { cert, key, clientCa };
}

function readPem(variable: string, file: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : (code ?? 'unreadable');
    throw new Error(`${variable}: cannot read ${file}: ${why}`);
  }
  if (!content.includes('-----BEGIN ')) {
    throw new Error(`${variable}: ${file} is not a PEM file (no "-----BEGIN" line)`);
  }
  return content;
}

/** Every certificate of a PEM bundle parses. */
function checkCertificates(variable: string, file: string, pem: Buffer): void {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${variable}: ${file} holds no PEM certificate ("BEGIN CERTIFICATE")`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new Error(`${variable}: ${file} holds a certificate that does not parse`);
    }
  }
}

/** The key parses, without a passphrase (the server has none to give). The message never quotes the key. */
function checkKey(file: string, pem: Buffer): void {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString('latin1'))) {
    throw new Error(`GRPC_TLS_KEY_FILE: ${file} holds no PEM private key ("BEGIN ... PRIVATE KEY")`);
  }
  try {
    createPrivateKey({ key: pem, format: 'pem', passphrase: '' });
  } catch (err) {
    const encrypted = /ENCRYPTED|passphrase|bad decrypt/i.test(`${pem.toString('latin1', 0, 200)} ${String(err)}`);
    throw new Error(
      encrypted
        ? `GRPC_TLS_KEY_FILE: ${file} is encrypted; give the key without a passphrase (openssl pkey -in KEY -out KEY2)`
        : `GRPC_TLS_KEY_FILE: ${file} holds a private key that does not parse`,
    );
  }
}
