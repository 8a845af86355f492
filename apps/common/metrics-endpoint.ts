/**
 * The Prometheus endpoint of a process (METRICS_ADDR): a plain HTTP listener answering `GET /metrics` with the
 * process's metrics in the text exposition format. HEAD works like GET; other methods get 405, other paths 404.
 * It is separate from the health endpoint so each can be exposed (or not) on its own network.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../libs/core/src/index.js';
import { startHttpListener } from '../../libs/front/src/index.js';
import type { ProcessMetrics } from './metrics.js';

export interface MetricsEndpointOptions {
  readonly host: string;
  /** 0 picks a free port */
  readonly port: number;
  readonly metrics: Pick<ProcessMetrics, 'text' | 'registry'>;
  readonly logger: Logger;
}

export interface MetricsEndpoint {
  /** the port it listens on (useful with port 0) */
  readonly port: number;
  /** `http://host:port/metrics`, for people and the startup line */
  readonly url: string;
  /** stops listening and closes open connections; idempotent */
  close(): Promise<void>;
}

/** a scrape request is tiny: one that takes longer than this to arrive is dropped */
const REQUEST_TIMEOUT_MS = 5000;
/** scrapers are few (a Prometheus or two, an agent): more sockets at once are refused */
const MAX_CONNECTIONS = 32;

export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const listener = await startHttpListener({
    setting: 'METRICS_ADDR',
    host: options.host,
    port: options.port,
    handler: (req, res) => answer(req, res, options),
    logger: options.logger,
    maxConnections: MAX_CONNECTIONS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  return { port: listener.port, url: `${listener.url}/metrics`, close: () => listener.close() };
}

function answer(req: IncomingMessage, res: ServerResponse, options: MetricsEndpointOptions): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    send(req, res, 404, 'text/plain', `no such path ${path}; use /metrics\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(req, res, 405, 'text/plain', `${req.method} is not allowed; use GET\n`);
    return;
  }
  options.metrics.text().then(
    (text) => send(req, res, 200, options.metrics.registry.contentType, text),
    (err: unknown) => {
      options.logger.warn({ err }, 'metrics: a scrape failed');
      send(req, res, 500, 'text/plain', 'the metrics could not be collected; see the process log\n');
    },
  );
}

function send(req: IncomingMessage, res: ServerResponse, code: number, type: string, text: string): void {
  res.writeHead(code, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
