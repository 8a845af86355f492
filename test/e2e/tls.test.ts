/**
 * TLS end to end, against certificates made with openssl at test time: an all-in-one started with the README's TLS
 * command, called by buf curl, the CLI and the Node client; mutual TLS; the health probe; the errors of every wrong
 * pairing (plain text on the TLS port, TLS on a plain port, an untrusted certificate, a missing or refused client
 * certificate, a missing file at start); and a Scalable grpc-front over TLS.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobworkerpClient } from '../../libs/client/src/index.js';
import { purgeRedisNamespace } from '../../libs/queue/src/index.js';
import { tempMariaDatabase } from '../support/mariadb.js';
import { readmeShellBlocks } from '../support/readme.js';
import { scalableEnv } from '../support/scalable-env.js';
import type { ServerProcess } from '../support/server-process.js';
import { appEntry, REPO_ROOT, startServer } from '../support/server-process.js';
import type { TlsCerts } from '../support/tls-certs.js';
import { makeTlsCerts } from '../support/tls-certs.js';

const BUF = join(REPO_ROOT, 'node_modules', '.bin', 'buf');
const CLI = join(REPO_ROOT, 'dist', 'apps', 'cli', 'main.js');
const HEALTHCHECK = join(REPO_ROOT, 'dist', 'apps', 'healthcheck', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with a clean environment (PATH and HOME, plus `env`); never rejects. */
function run(file: string, args: readonly string[], env: Record<string, string> = {}, cwd = REPO_ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? cwd, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const cli = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
  run(process.execPath, [CLI, ...args], env);
const bufCurl = (args: readonly string[]): Promise<Run> => run(BUF, ['curl', '--protocol', 'grpc', ...args]);

/** stderr must be exactly one line; returns it. */
function oneLine(r: Run): string {
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

/** The README's TLS blocks, with the files in the temp folder and the server on its free port. */
function readmeTls(certs: TlsCerts): { serve: string; call: string; mutual: string } {
  const blocks = readmeShellBlocks('TLS');
  expect(blocks).toHaveLength(3);
  const files = (block: string): string =>
    block
      .replace(/\b(server|ca|client)\.(pem|key)\b/g, (name) => join(certs.dir, name))
      .replaceAll('node dist/', `"${process.execPath}" ${REPO_ROOT}/dist/`)
      .replaceAll('npx buf', BUF);
  const [serve, call, mutual] = blocks.map(files);
  return { serve: serve!, call: call!, mutual: mutual! };
}

let certs: TlsCerts;
beforeAll(async () => {
  certs = await makeTlsCerts();
});
afterAll(() => certs?.remove());

describe('an all-in-one over TLS (started as the README says)', () => {
  let server: ServerProcess;
  let readme: ReturnType<typeof readmeTls>;
  const url = (): string => `https://${server.address}`;

  beforeAll(async () => {
    readme = readmeTls(certs);
    expect(readme.serve).toMatch(/^GRPC_TLS_CERT_FILE=\S+ GRPC_TLS_KEY_FILE=\S+ "[^"]+" \S+all-in-one\/main\.js$/);
    // bash runs the one command in its own process (exec), so the harness's SIGTERM reaches the server
    server = await startServer({ command: ['bash', '-c', readme.serve] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('says TLS in its listening line', () => {
    expect(server.output()).toMatch(/listening on 127\.0\.0\.1:\d+ \(Standalone, TLS\)/);
  });

  it('runs the README calls: the CLI with --ca-file and buf curl with --cacert', async () => {
    const r = await run('bash', [
      '-c',
      `set -euo pipefail\n${readme.call.replaceAll('127.0.0.1:9000', server.address)}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\s+COMMAND\s+COMMAND$/m);
    expect(r.stdout).toContain('"status": "SERVING"');
  });

  it('serves reflection and the jobworkerp services to buf curl over TLS', async () => {
    const listed = await bufCurl(['--cacert', certs.caCert, '--list-services', `https://localhost:${server.port}`]);
    expect(listed.stderr).toBe('');
    const services = listed.stdout.trim().split('\n');
    for (const s of ['grpc.health.v1.Health', 'jobworkerp.service.JobService', 'jobworkerp.service.RunnerService']) {
      expect(services).toContain(s);
    }
    const runners = await bufCurl([
      '--cacert',
      certs.caCert,
      '-d',
      '{}',
      `${url()}/jobworkerp.service.RunnerService/FindList`,
    ]);
    expect(runners.code, runners.stderr).toBe(0);
    expect(runners.stdout).toContain('"name": "COMMAND"');
  });

  it('refuses buf curl trusting another CA, and plain text; the server serves on', async () => {
    const untrusted = await bufCurl(['-v', '--cacert', certs.otherCaCert, '--list-services', url()]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate signed by unknown authority/);
    const plain = await bufCurl([
      '--http2-prior-knowledge',
      '-d',
      '{}',
      `http://${server.address}/grpc.health.v1.Health/Check`,
    ]);
    expect(plain.code).not.toBe(0);
    expect(plain.stdout).toBe('');
    const after = await bufCurl(['--cacert', certs.caCert, '-d', '{}', `${url()}/grpc.health.v1.Health/Check`]);
    expect(JSON.parse(after.stdout)).toEqual({ status: 'SERVING' });
    expect(server.child.exitCode).toBeNull();
  });

  it('runs a job through the CLI, with --ca-file and with JOBWORKERP_CA_FILE, by IP and by name', async () => {
    const created = await cli([
      '-a',
      url(),
      '--ca-file',
      certs.caCert,
      'worker',
      'create',
      '-n',
      'tls-echo',
      '-r',
      'COMMAND',
      '-s',
      '{"name":"echo"}',
    ]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^name\s+tls-echo$/m);
    const enqueued = await cli(
      ['-a', `https://localhost:${server.port}`, 'job', 'enqueue', '-w', 'tls-echo', '-a', '{"args":["over tls"]}'],
      {
        JOBWORKERP_CA_FILE: certs.caCert,
      },
    );
    // no warning either: the CLI drops Node's DEP0123 about IP addresses in TLS server names
    expect(enqueued.stderr).toBe('');
    expect(enqueued.stdout).toMatch(/^status\s+SUCCESS$/m);
    expect(enqueued.stdout).toMatch(/^output\s+over tls$/m);
  });

  it('serves the Node client with caFile', async () => {
    const client = new JobworkerpClient({ address: `https://localhost:${server.port}`, caFile: certs.caCert });
    try {
      const { result } = await client.jobs.enqueue({ worker: 'tls-echo', args: { args: ['from node'] } });
      expect((await client.results.decode(result!)).output).toEqual(['from node\n']);
    } finally {
      client.close();
    }
  });

  it('tells the CLI user what is wrong in one line, with the option that fixes it', async () => {
    const port = server.port;
    const noCa = await cli(['-a', url(), 'runner', 'list']);
    expect(noCa.code).toBe(1);
    expect(oneLine(noCa)).toMatch(
      new RegExp(
        `^error: UNAVAILABLE: cannot connect to 127\\.0\\.0\\.1:${port} over TLS: the server's certificate is not ` +
          `trusted \\(unable to verify the first certificate; no CA file was given, .*\\(--ca-file or \\$JOBWORKERP_CA_FILE\\)$`,
      ),
    );
    const otherCa = await cli(['-a', url(), '--ca-file', certs.otherCaCert, 'runner', 'list']);
    expect(otherCa.code).toBe(1);
    expect(oneLine(otherCa)).toContain('the CA file given did not sign it');
    for (const address of [`http://${server.address}`, server.address]) {
      // the CA file of the environment is for https:// addresses: it is left aside here, not an error
      const plain = await cli(['-a', address, 'runner', 'list'], { JOBWORKERP_CA_FILE: certs.caCert });
      expect(plain.code).toBe(1);
      expect(oneLine(plain)).toMatch(
        new RegExp(
          `^error: UNAVAILABLE: cannot connect to 127\\.0\\.0\\.1:${port}: the server speaks TLS: use https://127\\.0\\.0\\.1:${port}`,
        ),
      );
    }
    const missing = join(certs.dir, 'missing.pem');
    const noFile = await cli(['-a', url(), '--ca-file', missing, 'runner', 'list']);
    expect(noFile.code).toBe(2);
    expect(oneLine(noFile)).toBe(`error: a CA file ${JSON.stringify(missing)} cannot be read: no such file`);
    const notPem = await cli(['-a', url(), '--ca-file', certs.clientKey, 'runner', 'list']);
    expect(notPem.code).toBe(2);
    expect(oneLine(notPem)).toMatch(/does not hold a PEM certificate$/);
    const flagOnPlain = await cli(['-a', `http://${server.address}`, '--ca-file', certs.caCert, 'runner', 'list']);
    expect(flagOnPlain.code).toBe(2);
    expect(oneLine(flagOnPlain)).toMatch(
      /^error: a CA file is for TLS, but .* is a plain-text address; use https:\/\//,
    );
  });

  it('answers the health probe: grpcs:// with the CA, and with no argument as the image runs it', async () => {
    const port = server.port;
    const probe = await run(process.execPath, [HEALTHCHECK, `grpcs://127.0.0.1:${port}`, '--ca-file', certs.caCert]);
    expect(probe).toEqual({ code: 0, stdout: `grpcs://127.0.0.1:${port}: SERVING\n`, stderr: '' });
    const serverEnv = {
      GRPC_ADDR: `0.0.0.0:${port}`,
      GRPC_TLS_CERT_FILE: certs.serverCert,
      GRPC_TLS_KEY_FILE: certs.serverKey,
    };
    const image = await run(process.execPath, [HEALTHCHECK], serverEnv, certs.dir);
    expect(image).toEqual({ code: 0, stdout: `grpcs://127.0.0.1:${port}: SERVING\n`, stderr: '' });
    const plain = await run(process.execPath, [HEALTHCHECK, `127.0.0.1:${port}`]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe(
      `healthcheck: 127.0.0.1:${port}: the server speaks TLS: probe grpcs://127.0.0.1:${port} ` +
        '(with --ca-file or JOBWORKERP_CA_FILE, or --insecure)\n',
    );
    const untrusted = await run(process.execPath, [HEALTHCHECK, `grpcs://127.0.0.1:${port}`]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/the server's certificate is not trusted .*--insecure\)\n$/);
    const insecure = await run(process.execPath, [HEALTHCHECK, `grpcs://localhost:${port}`, '--insecure']);
    expect(insecure.code, insecure.stderr).toBe(0);
  });
});

describe('mutual TLS (GRPC_TLS_CLIENT_CA_FILE)', () => {
  let server: ServerProcess;
  let readme: ReturnType<typeof readmeTls>;
  const serverEnv = (): Record<string, string> => ({
    GRPC_TLS_CERT_FILE: certs.serverCert,
    GRPC_TLS_KEY_FILE: certs.serverKey,
    GRPC_TLS_CLIENT_CA_FILE: certs.caCert,
  });

  beforeAll(async () => {
    readme = readmeTls(certs);
    server = await startServer({ env: serverEnv() });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a client certificate the CA signed: the README call, buf curl', async () => {
    const r = await run('bash', [
      '-c',
      `set -euo pipefail\n${readme.mutual.replaceAll('127.0.0.1:9000', server.address)}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d+\s+COMMAND\s+COMMAND$/m);
    const checked = await bufCurl([
      '--cacert',
      certs.caCert,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
      '-d',
      '{}',
      `https://${server.address}/grpc.health.v1.Health/Check`,
    ]);
    expect(JSON.parse(checked.stdout)).toEqual({ status: 'SERVING' });
  });

  it('refuses a client without a certificate, or with one another CA signed, saying so', async () => {
    const url = `https://${server.address}`;
    const without = await cli(['-a', url, '--ca-file', certs.caCert, 'runner', 'list']);
    expect(without.code).toBe(1);
    expect(oneLine(without)).toBe(
      `error: UNAVAILABLE: cannot connect to ${server.address} over TLS: the server asks for a client certificate ` +
        '(mutual TLS): give a client certificate and its key (--cert-file and --key-file, or $JOBWORKERP_CERT_FILE ' +
        'and $JOBWORKERP_KEY_FILE)',
    );
    const stranger = await cli(['-a', url, '--ca-file', certs.caCert, 'runner', 'list'], {
      JOBWORKERP_CERT_FILE: certs.strangerCert,
      JOBWORKERP_KEY_FILE: certs.strangerKey,
    });
    expect(stranger.code).toBe(1);
    expect(oneLine(stranger)).toMatch(
      /over TLS: the server closed the connection right after the TLS handshake, so it does not accept the client certificate: give one signed by a CA the server trusts \(--cert-file and --key-file/,
    );
    const buf = await bufCurl(['--cacert', certs.caCert, '-d', '{}', `${url}/grpc.health.v1.Health/Check`]);
    expect(buf.code).not.toBe(0);
    expect(buf.stdout).toBe('');
  });

  it('lets the image health probe in with a client certificate, and says what it needs without one', async () => {
    const env = { ...serverEnv(), GRPC_ADDR: `0.0.0.0:${server.port}` };
    const without = await run(process.execPath, [HEALTHCHECK], env, certs.dir);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(
      /the server asks for a client certificate .*\(--cert-file and --key-file, or JOBWORKERP_CERT_FILE and JOBWORKERP_KEY_FILE; or probe the HTTP endpoint of HEALTH_ADDR\)\n$/,
    );
    const withCert = await run(
      process.execPath,
      [HEALTHCHECK],
      { ...env, JOBWORKERP_CERT_FILE: certs.clientCert, JOBWORKERP_KEY_FILE: certs.clientKey },
      certs.dir,
    );
    expect(withCert).toEqual({ code: 0, stdout: `grpcs://127.0.0.1:${server.port}: SERVING\n`, stderr: '' });
  });
});

describe('a plain-text server', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('tells a TLS client to use http://', async () => {
    const r = await cli(['-a', `https://${server.address}`, '--ca-file', certs.caCert, 'runner', 'list']);
    expect(r.code).toBe(1);
    expect(oneLine(r)).toBe(
      `error: UNAVAILABLE: cannot connect to ${server.address} over TLS: the server does not speak TLS (it answered ` +
        `in plain text): use http://${server.address} (-a http://...)`,
    );
    const probe = await run(process.execPath, [HEALTHCHECK, `grpcs://${server.address}`, '--insecure']);
    expect(probe.code).toBe(1);
    expect(probe.stderr).toBe(
      `healthcheck: grpcs://${server.address}: the server does not speak TLS (it answered in plain text): probe ` +
        `${server.address}\n`,
    );
  });
});

describe('a front that cannot read its TLS files', () => {
  it('does not start, naming the variable and the file', async () => {
    const missing = join(certs.dir, 'nowhere.pem');
    const r = await run(
      process.execPath,
      [appEntry('all-in-one')],
      {
        GRPC_ADDR: '127.0.0.1:0',
        SQLITE_URL: join(certs.dir, 'never.sqlite3'),
        GRPC_TLS_CERT_FILE: missing,
        GRPC_TLS_KEY_FILE: certs.serverKey,
      },
      certs.dir,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`all-in-one: cannot start: GRPC_TLS_CERT_FILE: cannot read ${missing}: no such file`);
    const key = await run(
      process.execPath,
      [appEntry('all-in-one')],
      {
        GRPC_ADDR: '127.0.0.1:0',
        SQLITE_URL: join(certs.dir, 'never.sqlite3'),
        GRPC_TLS_CERT_FILE: certs.serverCert,
        GRPC_TLS_KEY_FILE: certs.clientKey,
      },
      certs.dir,
    );
    expect(key.code).toBe(1);
    expect(key.stderr).toContain(
      `GRPC_TLS_KEY_FILE (${certs.clientKey}) does not hold the private key of the certificate in GRPC_TLS_CERT_FILE`,
    );
    expect(key.stderr).not.toContain('PRIVATE KEY');
  });
});

describe('a Scalable grpc-front over TLS', () => {
  let front: ServerProcess | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  const prefix = `jwtest-tls-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const db = await tempMariaDatabase();
    dropDb = () => db.drop();
    front = await startServer({
      app: 'grpc-front',
      env: {
        ...scalableEnv(db.name, prefix),
        GRPC_TLS_CERT_FILE: certs.serverCert,
        GRPC_TLS_KEY_FILE: certs.serverKey,
      },
    });
  });
  afterAll(async () => {
    await front?.stop();
    await dropDb?.();
    await purgeRedisNamespace({ url: 'redis://127.0.0.1:6379', cluster: false }, prefix);
  });

  it('serves the CLI over TLS and answers the image health probe', async () => {
    const f = front!;
    expect(f.output()).toMatch(/grpc-front listening on \S+ \(Scalable, TLS\)/);
    const listed = await cli(['-a', `https://localhost:${f.port}`, '--ca-file', certs.caCert, 'runner', 'list']);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toMatch(/^\d+\s+COMMAND\s+COMMAND$/m);
    const probe = await run(
      process.execPath,
      [HEALTHCHECK],
      { GRPC_ADDR: `0.0.0.0:${f.port}`, GRPC_TLS_CERT_FILE: certs.serverCert, GRPC_TLS_KEY_FILE: certs.serverKey },
      certs.dir,
    );
    expect(probe).toEqual({ code: 0, stdout: `grpcs://127.0.0.1:${f.port}: SERVING\n`, stderr: '' });
  });
});
