/**
 * OpenTelemetry tracing of a process (OTLP_ADDR): the JobTracer the front and the job lifecycle record spans with,
 * exported in batches over OTLP/HTTP (JSON) to `<OTLP_ADDR>/v1/traces`. This module, and through it the OpenTelemetry
 * SDK, is imported only by processes started with OTLP_ADDR set (see job-node.ts); others load none of it.
 *
 * Spans are started with an explicit parent (the trace context a job carries, or the caller's `traceparent`), never
 * from an ambient context: no context manager is installed and nothing global is registered, so the process's
 * other code (and its libraries) is not traced and costs nothing more.
 */
import type { Attributes, Context, Span, TextMapGetter, TextMapSetter, Tracer } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type {
  JobTracer,
  Logger,
  TraceAttributes,
  TraceContext,
  TraceSpan,
  TraceSpanKind,
} from '../../libs/core/src/index.js';
import { clip, coerceError } from '../../libs/core/src/index.js';

export interface TracingOptions {
  /** OTLP_ADDR: the collector's base URL (`/v1/traces` is appended unless the path already ends with it) */
  readonly otlpAddr: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly logger: Logger;
  /** how often finished spans are sent. @default 2000 */
  readonly exportIntervalMs?: number;
}

export interface Tracing {
  readonly tracer: JobTracer;
  /** where spans are sent, without any credentials the address holds (for the startup line) */
  readonly endpoint: string;
  /** sends the spans still buffered and stops; idempotent */
  shutdown(): Promise<void>;
}

/** Finished spans kept while the collector is slow or away; more are dropped (tracing never holds jobs up). */
const MAX_QUEUED_SPANS = 8192;
/** At most one warning per this long while exporting fails. */
const EXPORT_WARNING_EVERY_MS = 60_000;

export function startTracing(options: TracingOptions): Tracing {
  const url = tracesUrl(options.otlpAddr);
  const exporter = new OTLPTraceExporter({ url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
    }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: MAX_QUEUED_SPANS,
        scheduledDelayMillis: options.exportIntervalMs ?? 2000,
      }),
    ],
  });
  warnOnExportErrors(options.logger);
  const tracer = new OtelJobTracer(provider.getTracer('jobworkerp', options.serviceVersion));
  let stopping: Promise<void> | undefined;
  return {
    tracer,
    endpoint: withoutCredentials(url),
    shutdown: () =>
      (stopping ??= provider.shutdown().catch((err: unknown) => {
        options.logger.warn({ err: clip(coerceError(err).message) }, 'tracing: the last spans could not be sent');
      })),
  };
}

/** `<addr>/v1/traces`, or the address itself when its path already ends with /v1/traces. */
export function tracesUrl(otlpAddr: string): string {
  const base = otlpAddr.replace(/\/+$/, '');
  return /\/v1\/traces$/.test(base) ? base : `${base}/v1/traces`;
}

function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

/**
 * The SDK reports failed exports to one process-wide handler; this one logs them as warnings, at most one a minute,
 * with the error's message only (never the request, which could carry headers).
 */
function warnOnExportErrors(logger: Logger): void {
  let lastWarning = -Infinity;
  let missed = 0;
  setGlobalErrorHandler((err) => {
    const now = Date.now();
    if (now - lastWarning < EXPORT_WARNING_EVERY_MS) {
      missed++;
      return;
    }
    lastWarning = now;
    const message = clip(coerceError(err).message);
    logger.warn({ err: message, similarBefore: missed }, 'tracing: spans could not be sent to the collector');
    missed = 0;
  });
}

const propagator = new W3CTraceContextPropagator();

const getter: TextMapGetter<TraceContext> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) =>
    key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined,
};

const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const KINDS: Record<TraceSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** The JobTracer over an OpenTelemetry tracer. */
export class OtelJobTracer implements JobTracer {
  constructor(private readonly tracer: Tracer) {}

  start(name: string, kind: TraceSpanKind, parent: TraceContext | undefined, attributes?: TraceAttributes): TraceSpan {
    const context = parent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, parent, getter);
    const span = this.tracer.startSpan(name, { kind: KINDS[kind], attributes: attributes as Attributes }, context);
    return new OtelSpan(span);
  }
}

class OtelSpan implements TraceSpan {
  private carried: TraceContext | undefined;

  constructor(private readonly span: Span) {}

  context(): TraceContext {
    if (this.carried === undefined) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, this.span) as Context, carrier, setter);
      const traceparent = carrier['traceparent'] ?? '';
      const tracestate = carrier['tracestate'];
      this.carried = tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate };
    }
    return this.carried;
  }

  setAttributes(attributes: TraceAttributes): void {
    this.span.setAttributes(attributes as Attributes);
  }

  fail(error: unknown): void {
    const message = typeof error === 'string' ? error : clip(coerceError(error).message);
    if (typeof error !== 'string') this.span.recordException({ name: coerceError(error).name, message });
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  end(): void {
    this.span.end();
  }
}
