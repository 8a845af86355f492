/**
 * The HTTP health endpoint of a process (HEALTH_ADDR), for the probes of compose and Kubernetes: a worker serves no
 * gRPC, so grpc.health.v1 cannot reach it.
 *
 * - `GET /healthz`: 200 `{"status":"SERVING",...}` while every dependency answers; 503 `{"status":"NOT_SERVING",
 *   "down":["redis"],...}` with each dependency's state (and why the last check failed) while one does not, or while
 *   the process shuts down. A readiness probe.
 * - `GET /livez`: 200 whenever the process can answer at all (its event loop runs), whatever its dependencies say: a
 *   liveness probe, so an orchestrator does not restart a process that only waits for Redis or the RDB to come back.
 *
 * HEAD works like GET; other methods get 405, other paths 404. Bodies are JSON; a report carries addresses and
 * error messages, never a password (the checks' errors are redacted where they are made).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../libs/core/src/index.js';
import { startHttpListener } from '../../libs/front/src/index.js';
import type { HealthReport } from './health-monitor.js';

export interface HealthEndpointOptions {
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  /** the report as of now */
  readonly report: () => HealthReport;
  readonly logger: Logger;
}

export interface HealthEndpoint {
  /** the port it listens on (useful with port 0) */
  readonly port: number;
  /** `http://host:port`, for people and the startup line */
  readonly url: string;
  /** stops listening and closes open connections; idempotent */
  close(): Promise<void>;
}

/** probes are tiny: a request that takes longer than this to arrive is dropped */
const REQUEST_TIMEOUT_MS = 5000;
/** probes come from a few places (kubelet, Docker, a load balancer): more sockets at once are refused */
const MAX_CONNECTIONS = 64;

export async function startHealthEndpoint(options: HealthEndpointOptions): Promise<HealthEndpoint> {
  const listener = await startHttpListener({
    setting: 'HEALTH_ADDR',
    host: options.host,
    port: options.port,
    handler: (req, res) => answer(req, res, options.report),
    logger: options.logger,
    maxConnections: MAX_CONNECTIONS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  return { port: listener.port, url: listener.url, close: () => listener.close() };
}

function answer(req: IncomingMessage, res: ServerResponse, report: () => HealthReport): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/healthz' && path !== '/livez') {
    send(req, res, 404, { error: `no such path ${path}; use /healthz or /livez` });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(req, res, 405, { error: `${req.method} is not allowed; use GET` });
    return;
  }
  if (path === '/livez') {
    send(req, res, 200, { status: 'ALIVE' });
    return;
  }
  const now = report();
  const dependencies = now.dependencies.map((d) => ({
    name: d.name,
    target: d.target,
    up: d.up,
    since: new Date(d.sinceMs).toISOString(),
    ...(d.error === undefined ? {} : { error: d.error }),
  }));
  const down = now.dependencies.filter((d) => !d.up).map((d) => d.name);
  send(req, res, now.status === 'SERVING' ? 200 : 503, {
    status: now.status,
    ...(now.stopping ? { stopping: true } : {}),
    ...(down.length > 0 ? { down } : {}),
    dependencies,
  });
}

function send(req: IncomingMessage, res: ServerResponse, code: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
