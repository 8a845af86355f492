#!/usr/bin/env node
/**
 * jobworkerp-healthcheck [host:port | http://host:port[/healthz]]: exits 0 when the process answers SERVING, 1
 * otherwise (with the reason on stderr), for a container's HEALTHCHECK.
 *
 * - host:port asks a front's grpc.health.v1.Health/Check for the whole server. Health checks need no AUTH_TOKEN.
 * - an http:// URL asks a process's HTTP health endpoint (HEALTH_ADDR; a worker has no gRPC port), at /healthz when
 *   the URL has no path.
 * - no argument: the HTTP endpoint on this machine when HEALTH_ADDR is set, else the front at the port of GRPC_ADDR,
 *   so the image's HEALTHCHECK needs no argument.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { loadConfig } from '../../libs/config/src/index.js';

const TIMEOUT_MS = 5000;

type HealthClient = InstanceType<ReturnType<typeof makeGenericClientConstructor>> & {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (err: ServiceError | null, response?: { status: string }) => void,
  ): void;
};

function defaultAddress(): string {
  const config = loadConfig();
  if (config.health.addr !== undefined) return `http://127.0.0.1:${config.health.addr.port}/healthz`;
  return `127.0.0.1:${config.grpc.port}`;
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

function check(address: string): Promise<string> {
  const Client = makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(address, credentials.createInsecure()) as HealthClient;
  return new Promise<string>((resolve, reject) => {
    client.check({ service: '' }, { deadline: Date.now() + TIMEOUT_MS }, (err, response) => {
      client.close();
      if (err !== null) reject(new Error(`${address}: ${err.details || err.message}`));
      else resolve(response?.status ?? 'UNKNOWN');
    });
  });
}

try {
  const address = process.argv[2] ?? defaultAddress();
  const http = /^https?:\/\//i.test(address);
  const status = http ? await checkHttp(address) : await check(address);
  if (status !== 'SERVING') throw new Error(`${address}: ${status}`);
  process.stdout.write(`${address}: SERVING\n`);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
