#!/usr/bin/env node
/**
 * jobworkerp-healthcheck [host:port]: asks a front's grpc.health.v1.Health/Check for the whole server and exits 0
 * when it answers SERVING, 1 otherwise (with the reason on stderr). The address defaults to this machine at the
 * port of GRPC_ADDR, so a container's HEALTHCHECK needs no argument. Health checks need no AUTH_TOKEN.
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
  const { port } = loadConfig().grpc;
  return `127.0.0.1:${port}`;
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
  const status = await check(address);
  if (status !== 'SERVING') throw new Error(`${address}: ${status}`);
  process.stdout.write(`${address}: SERVING\n`);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
