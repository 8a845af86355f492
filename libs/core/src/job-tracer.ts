/**
 * The tracing port: what the front and the job lifecycle need to record spans, with no tracing library behind it.
 * The apps give an implementation (OpenTelemetry, apps/common/tracing.ts) only when OTLP_ADDR is set; without one,
 * every place that would trace checks one `undefined` and does nothing else.
 *
 * A job carries the W3C trace context (https://www.w3.org/TR/trace-context/) of the span it was created in: the
 * Enqueue call that accepted it, or the run whose result made it (next_workers). The spans of its runs are children
 * of that context, so one trace follows the job from the Enqueue call through the queue to every run and its result.
 */

/** A W3C trace context as carried by a job (in memory, in its Redis record, in its RDB row). */
export interface TraceContext {
  /** `version-traceid-parentid-flags`, e.g. `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01` */
  readonly traceparent: string;
  /** vendor entries that travel along with traceparent; absent when there are none */
  readonly tracestate?: string | undefined;
}

export type TraceAttributes = Readonly<Record<string, string | number | boolean>>;

/** What a span records: a server call, a job's run (consumer), or a step inside one (internal). */
export type TraceSpanKind = 'server' | 'consumer' | 'internal';

/** A started span. end() once; fail() before end() marks it failed. */
export interface TraceSpan {
  /** the context of this span: jobs created within it carry it, so their runs are its children */
  context(): TraceContext;
  setAttributes(attributes: TraceAttributes): void;
  /** marks the span failed, with the error's message (never secrets: only messages meant for callers) */
  fail(error: unknown): void;
  end(): void;
}

export interface JobTracer {
  /** Starts a span under `parent`, or the first span of a new trace when there is none (or it is not valid). */
  start(name: string, kind: TraceSpanKind, parent: TraceContext | undefined, attributes?: TraceAttributes): TraceSpan;
}

/** The longest traceparent/tracestate this system keeps; a longer one is dropped (a new trace starts). */
export const MAX_TRACESTATE_CHARS = 512;

/** A valid version-00 traceparent (lowercase hex, trace id and span id not all zeros). */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace context given by a caller (gRPC metadata), or undefined when it is missing or malformed: a bad header
 * starts a new trace rather than failing the call. tracestate is kept only with a valid traceparent, and only when
 * it is printable ASCII of at most MAX_TRACESTATE_CHARS.
 */
export function traceContextFrom(traceparent: unknown, tracestate: unknown): TraceContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const parent = traceparent.trim();
  if (!TRACEPARENT.test(parent)) return undefined;
  if (typeof tracestate !== 'string') return { traceparent: parent };
  const state = tracestate.trim();
  return state !== '' && state.length <= MAX_TRACESTATE_CHARS && /^[\x20-\x7e]+$/.test(state)
    ? { traceparent: parent, tracestate: state }
    : { traceparent: parent };
}
