/**
 * Throwaway TLS material for tests, made with the `openssl` command in a temp folder: a CA, a server certificate for
 * 127.0.0.1 and localhost signed by it, a client certificate signed by it, and a second CA with a client certificate
 * of its own (one the first CA's holders must refuse).
 * Nothing here is ever committed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TlsCerts {
  readonly dir: string;
  /** the CA that signed the server and client certificates */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** a CA that signed neither the server's nor the client's certificate: trusting only it must fail */
  readonly otherCaCert: string;
  /** a client certificate signed by the other CA, and its key */
  readonly strangerCert: string;
  readonly strangerKey: string;
  remove(): void;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await exec('openssl', args, { cwd: dir, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed (the tests need the openssl command): ${e.stderr ?? e.message}`);
  }
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=jobworkerp test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function makeLeaf(dir: string, name: string, cn: string, extensions: string, ca = 'ca'): Promise<void> {
  await openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

export async function makeTlsCerts(): Promise<TlsCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'jw-tls-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await makeLeaf(
    dir,
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  const clientExtensions = 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n';
  await makeLeaf(dir, 'client', 'jobworkerp test client', clientExtensions);
  await makeLeaf(dir, 'stranger', 'jobworkerp test stranger', clientExtensions, 'other-ca');
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    otherCaCert: join(dir, 'other-ca.pem'),
    strangerCert: join(dir, 'stranger.pem'),
    strangerKey: join(dir, 'stranger.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
