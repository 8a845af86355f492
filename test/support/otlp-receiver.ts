/**
 * A small OTLP/HTTP trace receiver for tests: answers `POST /v1/traces` with an OTLP JSON body (what
 * @opentelemetry/exporter-trace-otlp-http sends) and keeps every span it got, flattened, with its service name.
 * Other paths and bodies that are not OTLP JSON get 4xx, and are counted so a test can see them.
 */
import { createServer } from 'node:http';
import { listenOnLoopback } from './http-listen.js';

export interface ReceivedSpan {
  readonly serviceName: string;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for the first span of a trace */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error */
  readonly statusCode: number;
  readonly statusMessage: string;
}

export interface OtlpReceiver {
  /** the base URL to give as OTLP_ADDR */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  /** requests refused (wrong path, method or body) */
  readonly refused: number;
  /** resolves with the spans once `done(spans)` holds, checked at each export; rejects after `timeoutMs` */
  waitFor(what: string, done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

function attributes(list: readonly OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

function flatten(body: OtlpRequest): ReceivedSpan[] {
  return body.resourceSpans.flatMap((rs) => {
    const serviceName = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
    return rs.scopeSpans.flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        serviceName,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: s.kind,
        attributes: attributes(s.attributes),
        statusCode: s.status?.code ?? 0,
        statusMessage: s.status?.message ?? '',
      })),
    );
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  let refused = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !/json/.test(req.headers['content-type'] ?? '')) {
        refused++;
        res.writeHead(404).end();
        return;
      }
      let body: OtlpRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
        if (!Array.isArray(body.resourceSpans)) throw new Error('no resourceSpans');
      } catch {
        refused++;
        res.writeHead(400).end();
        return;
      }
      spans.push(...flatten(body));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      for (const wake of waiters) wake();
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    get refused() {
      return refused;
    },
    waitFor: (what, done, timeoutMs = 60_000) =>
      new Promise<ReceivedSpan[]>((resolve, reject) => {
        const check = (): void => {
          if (!done(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...spans]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; spans so far:\n${JSON.stringify(spans, null, 1)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close,
  };
}
