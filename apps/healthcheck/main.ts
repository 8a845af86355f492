#!/usr/bin/env node
/**
 * jobworkerp-healthcheck [ADDRESS] [--ca-file F] [--cert-file F --key-file F] [--insecure]: exits 0 when the process
 * answers SERVING, 1 otherwise (with the reason on stderr), for a container's HEALTHCHECK.
 *
 * - host:port (or grpc://host:port) asks a front's grpc.health.v1.Health/Check for the whole server; grpcs://host:port
 *   asks it over TLS. Health checks need no AUTH_TOKEN.
 * - an http:// URL asks a process's HTTP health endpoint (HEALTH_ADDR; a worker has no gRPC port), at /healthz when
 *   the URL has no path.
 * - no argument: the HTTP endpoint on this machine when HEALTH_ADDR is set, else the front at the port of GRPC_ADDR,
 *   over TLS when GRPC_TLS_CERT_FILE is set, so the image's HEALTHCHECK needs no argument.
 *
 * TLS: the server's certificate is checked against --ca-file (or JOBWORKERP_CA_FILE, else the system's CAs), except
 * with --insecure and in the no-argument case without a CA file (this machine's own port: the probe asks whether the
 * process serves, not who it is). A port with GRPC_TLS_CLIENT_CA_FILE wants a client certificate: --cert-file and
 * --key-file (or JOBWORKERP_CERT_FILE and JOBWORKERP_KEY_FILE).
 */
import { parseArgs } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { ClientTls, ClientTlsFiles, ConnectionDiagnosis, ServerAddress } from '../../libs/client/src/index.js';
import { diagnoseConnection, parseServerAddress, readClientTls } from '../../libs/client/src/index.js';
import { CLIENT_TLS_ENV, clientTlsFilesFromEnv, loadConfig } from '../../libs/config/src/index.js';
import { dropIpServerNameWarning } from '../cli/ip-server-name-warning.js';

const TIMEOUT_MS = 5000;

type HealthClient = InstanceType<ReturnType<typeof makeGenericClientConstructor>> & {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (err: ServiceError | null, response?: { status: string }) => void,
  ): void;
};

const USAGE =
  'usage: jobworkerp-healthcheck [host:port | grpcs://host:port | http://host:port[/healthz]] ' +
  '[--ca-file FILE] [--cert-file FILE --key-file FILE] [--insecure]';

/** What to probe and how. */
type Target =
  | { readonly kind: 'http'; readonly url: string }
  | {
      readonly kind: 'grpc';
      readonly address: ServerAddress;
      readonly tls: ClientTls | undefined;
      readonly checkCertificate: boolean;
    };

function target(argv: readonly string[]): Target {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'ca-file': { type: 'string' },
        'cert-file': { type: 'string' },
        'key-file': { type: 'string' },
        insecure: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new Error(`one address at most\n${USAGE}`);
  const env = clientTlsFilesFromEnv();
  const files: ClientTlsFiles = {
    caFile: values['ca-file'] ?? env.caFile,
    certFile: values['cert-file'] ?? env.certFile,
    keyFile: values['key-file'] ?? env.keyFile,
  };
  const given = positionals[0];
  if (given === undefined) {
    const config = loadConfig();
    if (config.health.addr !== undefined) {
      return { kind: 'http', url: `http://127.0.0.1:${config.health.addr.port}/healthz` };
    }
    const tls = config.tls !== undefined;
    const address = parseServerAddress(`${tls ? 'https' : 'http'}://127.0.0.1:${config.grpc.port}`);
    return {
      kind: 'grpc',
      address,
      tls: tls ? readClientTls(true, files, address.target) : undefined,
      checkCertificate: files.caFile !== undefined && values.insecure !== true,
    };
  }
  if (/^https?:\/\//i.test(given)) return { kind: 'http', url: given };
  const grpcs = /^grpcs:\/\//i.test(given);
  const address = parseServerAddress(given.replace(/^grpcs?:\/\//i, grpcs ? 'https://' : 'http://'));
  if (!grpcs) {
    const tlsFlag = ['ca-file', 'cert-file', 'key-file', 'insecure'].find((f) => f in values);
    if (tlsFlag !== undefined) throw new Error(`--${tlsFlag} is for TLS: give a grpcs://host:port address`);
    return { kind: 'grpc', address, tls: undefined, checkCertificate: false };
  }
  // the TLS files of the environment apply to TLS addresses only
  return { kind: 'grpc', address, tls: readClientTls(true, files, given), checkCertificate: values.insecure !== true };
}

/** GET on a health endpoint: SERVING on 200, else what its report says is down. */
async function checkHttp(address: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new Error(`${address} is not a URL; use http://host:port/healthz`);
  }
  if (url.pathname === '/') url.pathname = '/healthz';
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
    throw new Error(`${url.href}: ${cause ?? (err instanceof Error ? err.message : String(err))}`);
  }
  const text = await response.text();
  if (response.status === 200) return 'SERVING';
  let report: { status?: unknown; down?: unknown; dependencies?: unknown } = {};
  try {
    report = JSON.parse(text) as typeof report;
  } catch {
    // not a report: the status code says enough
  }
  const down = Array.isArray(report.dependencies)
    ? (report.dependencies as { name?: unknown; up?: unknown; error?: unknown }[])
        .filter((d) => d.up === false)
        .map((d) => `${String(d.name)} down${typeof d.error === 'string' ? ` (${d.error})` : ''}`)
    : [];
  const status = typeof report.status === 'string' ? report.status : `HTTP ${response.status}`;
  return [status, ...down].join('; ');
}

async function check(t: Extract<Target, { kind: 'grpc' }>): Promise<string> {
  const { address, tls, checkCertificate } = t;
  const Client = makeGenericClientConstructor(healthService, 'Health');
  const creds =
    tls === undefined
      ? credentials.createInsecure()
      : credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, {
          rejectUnauthorized: checkCertificate,
        });
  const client = new Client(address.target, creds) as HealthClient;
  const outcome = await new Promise<{ status: string } | { error: ServiceError }>((resolve) => {
    client.check({ service: '' }, { deadline: Date.now() + TIMEOUT_MS }, (err, response) => {
      client.close();
      resolve(err !== null ? { error: err } : { status: response?.status ?? 'UNKNOWN' });
    });
  });
  if ('status' in outcome) return outcome.status;
  const diagnosis = await diagnoseConnection(address, tls, { checkCertificate }).catch(() => undefined);
  throw new Error(
    `${shown(t)}: ${diagnosis === undefined ? outcome.error.details || outcome.error.message : explain(address, diagnosis)}`,
  );
}

/** A TLS problem, with this command's way to fix it. */
function explain(address: ServerAddress, d: ConnectionDiagnosis): string {
  const { caFile, certFile, keyFile } = CLIENT_TLS_ENV;
  switch (d.problem) {
    case 'server-speaks-tls':
      return `the server speaks TLS: probe grpcs://${address.target} (with --ca-file or ${caFile}, or --insecure)`;
    case 'server-plain-text':
      return `the server does not speak TLS (it answered in plain text): probe ${address.target}`;
    case 'untrusted-certificate':
      return `${d.text} (--ca-file or ${caFile}, or --insecure)`;
    case 'client-certificate':
      return `${d.text} (--cert-file and --key-file, or ${certFile} and ${keyFile}; or probe the HTTP endpoint of HEALTH_ADDR)`;
    default:
      return d.text;
  }
}

function shown(t: Target): string {
  return t.kind === 'http' ? t.url : `${t.tls === undefined ? '' : 'grpcs://'}${t.address.target}`;
}

try {
  dropIpServerNameWarning();
  const t = target(process.argv.slice(2));
  const status = t.kind === 'http' ? await checkHttp(t.url) : await check(t);
  if (status !== 'SERVING') throw new Error(`${shown(t)}: ${status}`);
  process.stdout.write(`${shown(t)}: SERVING\n`);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
