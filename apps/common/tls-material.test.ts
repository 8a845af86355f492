import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsCerts } from '../../test/support/tls-certs.js';
import { makeTlsCerts } from '../../test/support/tls-certs.js';
import { readTlsMaterial } from './tls-material.js';

describe('readTlsMaterial', () => {
  let certs: TlsCerts;
  beforeAll(async () => {
    certs = await makeTlsCerts();
  });
  afterAll(() => certs?.remove());

  const errorOf = (files: Parameters<typeof readTlsMaterial>[0]): string => {
    try {
      readTlsMaterial(files);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('readTlsMaterial did not throw');
  };

  it('is undefined when TLS is off', () => {
    expect(readTlsMaterial(undefined)).toBeUndefined();
  });

  it('reads the certificate, the key and the client CA', () => {
    const material = readTlsMaterial({
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      clientCaFile: certs.caCert,
    });
    expect(material?.cert.equals(readFileSync(certs.serverCert))).toBe(true);
    expect(material?.key.equals(readFileSync(certs.serverKey))).toBe(true);
    expect(material?.clientCa?.equals(readFileSync(certs.caCert))).toBe(true);
    expect(readTlsMaterial({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: undefined })).toEqual({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
    });
  });

  it('names the variable and the file of a missing or unreadable file', () => {
    const missing = join(certs.dir, 'missing.pem');
    expect(errorOf({ certFile: missing, keyFile: certs.serverKey, clientCaFile: undefined })).toBe(
      `GRPC_TLS_CERT_FILE: cannot read ${missing}: no such file`,
    );
    expect(errorOf({ certFile: certs.serverCert, keyFile: missing, clientCaFile: undefined })).toBe(
      `GRPC_TLS_KEY_FILE: cannot read ${missing}: no such file`,
    );
    expect(errorOf({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.dir })).toBe(
      `GRPC_TLS_CLIENT_CA_FILE: cannot read ${certs.dir}: it is a folder`,
    );
  });

  it('refuses files that are not PEM of the right kind', () => {
    const text = join(certs.dir, 'notes.txt');
    writeFileSync(text, 'hello');
    expect(errorOf({ certFile: text, keyFile: certs.serverKey, clientCaFile: undefined })).toBe(
      `GRPC_TLS_CERT_FILE: ${text} is not a PEM file (no "-----BEGIN" line)`,
    );
    expect(errorOf({ certFile: certs.serverKey, keyFile: certs.serverKey, clientCaFile: undefined })).toMatch(
      /^GRPC_TLS_CERT_FILE: .*server\.key holds no PEM certificate/,
    );
    expect(errorOf({ certFile: certs.serverCert, keyFile: certs.serverCert, clientCaFile: undefined })).toMatch(
      /^GRPC_TLS_KEY_FILE: .*server\.pem holds no PEM private key/,
    );
    expect(errorOf({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.clientKey })).toMatch(
      /^GRPC_TLS_CLIENT_CA_FILE: .*client\.key holds no PEM certificate/,
    );
    const broken = join(certs.dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    expect(errorOf({ certFile: broken, keyFile: certs.serverKey, clientCaFile: undefined })).toBe(
      `GRPC_TLS_CERT_FILE: ${broken} holds a certificate that does not parse`,
    );
  });

  it('refuses a key of another certificate, and an encrypted key, without quoting the key', () => {
    const key = readFileSync(certs.clientKey, 'latin1');
    const mismatch = errorOf({ certFile: certs.serverCert, keyFile: certs.clientKey, clientCaFile: undefined });
    expect(mismatch).toMatch(/^GRPC_TLS_KEY_FILE \(.*client\.key\) does not hold the private key of the certificate/);
    const encrypted = join(certs.dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', certs.serverKey, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    const locked = errorOf({ certFile: certs.serverCert, keyFile: encrypted, clientCaFile: undefined });
    expect(locked).toMatch(/^GRPC_TLS_KEY_FILE: .*encrypted\.key is encrypted; give the key without a passphrase/);
    const body = key.split('\n')[1]!;
    for (const message of [mismatch, locked]) expect(message).not.toContain(body);
  });
});
