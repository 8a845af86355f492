import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readClientTls } from './client-tls.js';
import { InvalidInputError } from './input-error.js';

// the contents only have to look like PEM here: TLS itself is exercised end to end (test/e2e/tls.test.ts)
const dir = mkdtempSync(join(tmpdir(), 'jw-client-tls-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n');
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nQ0xJRU5U\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n');
const text = file('notes.txt', 'not a certificate');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readClientTls', () => {
  it('is undefined for a plain-text address without files', () => {
    expect(readClientTls(false, {}, 'http://h:1')).toBeUndefined();
  });

  it('uses the system CAs for an https:// address without files', () => {
    expect(readClientTls(true, {}, 'https://h:1')).toEqual({ ca: undefined, cert: undefined, key: undefined });
  });

  it('reads the CA, the client certificate and its key', () => {
    const tls = readClientTls(true, { caFile: ca, certFile: cert, keyFile: key }, 'https://h:1');
    expect(tls?.ca?.toString()).toContain('Q0E=');
    expect(tls?.cert?.toString()).toContain('Q0xJRU5U');
    expect(tls?.key?.toString()).toContain('S0VZ');
  });

  it.each([
    [false, { caFile: ca }, /a CA file is for TLS, but "http:\/\/h:1" is a plain-text address; use https:\/\//],
    [false, { certFile: cert, keyFile: key }, /a client certificate file is for TLS/],
    [true, { caFile: join(dir, 'missing.pem') }, /a CA file ".*missing\.pem" cannot be read: no such file/],
    [true, { caFile: text }, /a CA file ".*notes\.txt" does not hold a PEM certificate/],
    [true, { caFile: key }, /does not hold a PEM certificate/],
    [true, { certFile: cert, keyFile: cert }, /a client key file ".*client\.pem" does not hold a PEM private key/],
    [true, { certFile: cert }, /a client certificate file needs its key file too/],
    [true, { keyFile: key }, /a client key file needs its certificate file too/],
    [true, { caFile: dir }, /a CA file ".*" cannot be read: EISDIR/],
  ])('tls=%s %j is an InvalidInputError', (tls, files, message) => {
    const address = tls ? 'https://h:1' : 'http://h:1';
    expect(() => readClientTls(tls, files, address)).toThrow(InvalidInputError);
    expect(() => readClientTls(tls, files, address)).toThrow(message);
  });

  it('never quotes a key file in its errors', () => {
    const secret = file('secret.key', 'SECRET-KEY-MATERIAL');
    expect(() => readClientTls(true, { certFile: cert, keyFile: secret }, 'https://h:1')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as unknown }),
    );
  });
});
