/**
 * The HTTP_REQUEST runner (built-in runner 2): one HTTP request per job to the worker's base URL, over undici
 * keep-alive pools shared per origin (see HttpRequestPools).
 *
 * Semantics:
 * - settings `base_url` must be an absolute http(s) URL without credentials (send an Authorization header in the
 *   job's `headers` instead); anything else fails load() as fatal;
 * - args `path` is resolved against `base_url` like a link (URL resolution, as upstream's `Url::join`): `/users`
 *   replaces the base path, `users` is relative to the base's last `/`, an empty path is the base itself. A path
 *   that leaves the base's origin (`//other.host/x`, `https://other/...`) is fatal. `queries` are appended to the
 *   URL's query in order; `headers` are sent as given (repeated keys allowed); `method` is upper-cased and defaults
 *   to GET; `body`, when set, is sent as UTF-8;
 * - redirects are not followed: a 3xx is a final answer;
 * - the result item is `HttpRequestResult { status_code, headers, content }` with the body decoded as UTF-8
 *   (invalid sequences become U+FFFD);
 * - 2xx → SUCCESS with that item; 5xx, 408 and 429 → `RunnerError('retryable')`; every other status (3xx, 4xx)
 *   → `RunnerError('fatal')`. Failures carry the encoded result as their output, so the body is kept;
 * - the body is read up to `maxResponseBytes`; a longer body stops the download and fails the run as fatal (the
 *   same request would overflow again), with the first `maxResponseBytes` bytes as the result's content. We fail
 *   rather than truncate silently so a cut document is never mistaken for a whole one;
 * - network errors (refused, reset, DNS, TLS, undici's header/body timeouts) → retryable; arguments undici rejects
 *   (bad header names, unsupported methods) and oversized response headers → fatal;
 * - `ctx.signal` aborted → the request is aborted (its socket destroyed) and run() rejects with
 *   `ctx.signal.reason`.
 *
 * Extensions (fields >= 100, all optional):
 * - settings `shared_key_header {name, key}`: that header goes with every request, so the receiver can tell the
 *   sender is who it expects (a shared key; sealed with the settings when SECRETS_KEY is set, never in a message);
 * - settings `request_timeout_ms`: the longest one request may take, response body included (0 = 300000): a request
 *   past it is aborted and fails as retryable. It always applies, whatever the job's own timeout;
 * - settings `allow_any_origin`: `path` may be an absolute http(s) URL to any origin (base_url may then be empty);
 * - settings `push_envelope`: the body sent is `{"payload": base64 of the job's body, "tries": this attempt's number
 *   (1 for the first), "req_id": the job id (the same on every attempt)}` as JSON, the push delivery of
 *   docs/poussetaches-api.md;
 * - settings `pause_switch`: while the process's switch of that name is on, the job waits before sending (it keeps
 *   its claim and no try is counted), and goes on when the switch is turned off;
 * - args `expected_status`: success only when the answer has exactly that status; any other status (2xx included)
 *   is a retryable failure;
 * - args `body_bytes`: the body as bytes, sent instead of `body`.
 *
 * Failure messages name the method, origin and path only: never the query string (which may hold API keys), the
 * request headers (the shared key among them) or the body.
 */
import type { Dispatcher } from 'undici';
import { clip } from '../../core/src/index.js';
import type { HttpRequestArgs_KeyValue, HttpRequestResult_KeyValue } from '../../proto/src/index.js';
import { HttpRequestArgs, HttpRequestResult, HttpRequestRunnerSettings } from '../../proto/src/index.js';
import { readBoundedBody } from './bounded-body.js';
import { HTTP_REQUEST_RUNNER_ID } from './builtin-runners.js';
import { builtinRunnerRow } from './builtin-runner-row.js';
import { decodeRunnerMessage } from './decode-runner-message.js';
import { errorMessage } from './error-message.js';
import { HttpRequestPools } from './http-request-pools.js';
import type { FailureKind, RunContext, Runner, RunnerDefinition } from './runner.js';
import { RunnerError } from './runner.js';

/** An HTTP method token (RFC 9110 `token`). */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** An HTTP header name (a `token` too). */
export const HEADER_NAME = METHOD_TOKEN;

/**
 * undici error codes that a retry would meet again: the request itself is unusable, or the server's response
 * headers are too large to read. Every other request error is worth a retry.
 */
const FATAL_UNDICI_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
]);

/** Named on/off switches shared by the cluster (settings `pause_switch`). */
export interface PauseSwitches {
  /** Resolves at once when the switch is off, else when it is turned off; rejects with the signal's reason. */
  waitWhileOn(name: string, signal: AbortSignal): Promise<void>;
}

/** The request timeout when settings give none (request_timeout_ms 0), ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

export interface HttpRequestRunnerOptions {
  /** The most response body bytes read per job (RESPONSE_MAX_BYTES); a longer body fails the run as fatal. */
  readonly maxResponseBytes: number;
  /** The connection pools, shared by every HTTP_REQUEST runner of the process. */
  readonly pools: HttpRequestPools;
  /** The switches `pause_switch` names; without them that setting is ignored. */
  readonly switches?: PauseSwitches;
}

/** What load() keeps of the settings. */
interface LoadedSettings {
  readonly base: URL | undefined;
  readonly sharedKey: { readonly name: string; readonly key: string } | undefined;
  readonly timeoutMs: number;
  readonly anyOrigin: boolean;
  readonly envelope: boolean;
  readonly pauseSwitch: string | undefined;
}

/** Sends one HTTP request per job; see the module comment for the exact semantics. */
export class HttpRequestRunner implements Runner {
  private settings: LoadedSettings | undefined;

  constructor(private readonly options: HttpRequestRunnerOptions) {}

  async load(settings: Uint8Array): Promise<void> {
    const decoded = decodeRunnerMessage('HttpRequestRunnerSettings', HttpRequestRunnerSettings, settings);
    const anyOrigin = decoded.allowAnyOrigin;
    const sharedKey = decoded.sharedKeyHeader;
    if (sharedKey !== undefined && !HEADER_NAME.test(sharedKey.name)) {
      const message = 'HTTP_REQUEST runner settings shared_key_header.name must be an HTTP header name';
      throw new RunnerError(message, 'fatal');
    }
    this.settings = {
      base: anyOrigin && decoded.baseUrl === '' ? undefined : parseBaseUrl(decoded.baseUrl),
      sharedKey,
      timeoutMs: decoded.requestTimeoutMs > 0 ? decoded.requestTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS,
      anyOrigin,
      envelope: decoded.pushEnvelope,
      pauseSwitch: decoded.pauseSwitch === '' ? undefined : decoded.pauseSwitch,
    };
  }

  async run(args: Uint8Array, ctx: RunContext): Promise<Uint8Array[]> {
    const settings = this.settings;
    if (settings === undefined) {
      throw new RunnerError('HTTP_REQUEST runner was run before load()', 'other');
    }
    const request = decodeRunnerMessage('HttpRequestArgs', HttpRequestArgs, args);
    const method = requestMethod(request.method);
    const url = requestUrl(settings, request.path, request.queries);
    const target = `${method} ${url.origin}${url.pathname}`;
    ctx.signal.throwIfAborted();
    if (settings.pauseSwitch !== undefined && this.options.switches !== undefined) {
      await this.options.switches.waitWhileOn(settings.pauseSwitch, ctx.signal);
    }

    const headers = request.headers.flatMap((header) => [header.key, header.value]);
    let body: string | Buffer | null =
      request.bodyBytes !== undefined ? Buffer.from(request.bodyBytes) : (request.body ?? null);
    if (settings.envelope) {
      body = pushEnvelope(body ?? '', ctx);
      headers.push('content-type', 'application/json');
    }
    if (settings.sharedKey !== undefined) headers.push(settings.sharedKey.name, settings.sharedKey.key);

    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const timedOut = (): RunnerError =>
      new RunnerError(`${target} timed out after ${settings.timeoutMs} ms (request_timeout_ms)`, 'retryable');
    const response = await send(this.options.pools.get(url.origin), target, ctx.signal, timeout, timedOut, {
      path: `${url.pathname}${url.search}`,
      method,
      headers,
      body,
      signal,
    });
    const limit = this.options.maxResponseBytes;
    let responseBody;
    try {
      responseBody = await readBoundedBody(response.body, limit);
    } catch (error) {
      if (ctx.signal.aborted) {
        throw ctx.signal.reason;
      }
      if (timeout.aborted) throw timedOut();
      throw new RunnerError(`${target}: reading the response failed: ${errorMessage(error)}`, 'retryable', [], {
        cause: error,
      });
    }
    const body_ = responseBody;
    const item = HttpRequestResult.encode({
      statusCode: response.statusCode,
      headers: headerList(response.headers),
      content: body_.bytes.toString('utf8'),
    }).finish();
    if (body_.exceeded) {
      const message = `${target}: response exceeded ${limit} bytes (RESPONSE_MAX_BYTES); the download was stopped`;
      throw new RunnerError(message, 'fatal', [item]);
    }
    const expected = request.expectedStatus;
    if (expected !== undefined) {
      if (response.statusCode !== expected) {
        const message = `${target} answered HTTP ${response.statusCode}, not the expected ${expected}`;
        throw new RunnerError(message, 'retryable', [item]);
      }
      return [item];
    }
    const failure = httpStatusFailure(response.statusCode);
    if (failure !== undefined) {
      throw new RunnerError(`${target} answered HTTP ${response.statusCode}`, failure, [item]);
    }
    return [item];
  }
}

/**
 * The push envelope: `{"payload": base64 of body, "tries": attempt (1-based), "req_id": job id}`; req_id is the same
 * on every attempt of a job, so a receiver can drop a delivery it already handled.
 */
export function pushEnvelope(body: string | Buffer, ctx: Pick<RunContext, 'jobId' | 'attempt'>): string {
  const payload = (typeof body === 'string' ? Buffer.from(body, 'utf8') : body).toString('base64');
  return JSON.stringify({ payload, tries: ctx.attempt ?? 1, req_id: String(ctx.jobId) });
}

/** The HTTP_REQUEST row of the built-in runners; every runner it creates shares one set of pools. */
export function httpRequestRunnerDefinition(options: {
  readonly maxResponseBytes: number;
  readonly switches?: PauseSwitches;
}): RunnerDefinition {
  const pools = new HttpRequestPools();
  const runnerOptions = { maxResponseBytes: options.maxResponseBytes, pools, switches: options.switches };
  return { ...builtinRunnerRow(HTTP_REQUEST_RUNNER_ID), create: () => new HttpRequestRunner(runnerOptions) };
}

/**
 * How a response status fails a run: undefined for 2xx (success); retryable for 5xx, 408 (request timeout) and 429
 * (too many requests), which a later attempt may get past; fatal for the rest (3xx, which we do not follow, and 4xx).
 */
export function httpStatusFailure(status: number): FailureKind | undefined {
  if (status >= 200 && status < 300) {
    return undefined;
  }
  if ((status >= 500 && status < 600) || status === 408 || status === 429) {
    return 'retryable';
  }
  return 'fatal';
}

/** How a failed request (no response) is classified: see FATAL_UNDICI_CODES; network errors are retryable. */
export function httpRequestErrorKind(error: unknown): FailureKind {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return typeof code === 'string' && FATAL_UNDICI_CODES.has(code) ? 'fatal' : 'retryable';
}

/** Sends the request; a rejection becomes the abort reason or a classified RunnerError. */
async function send(
  pool: Dispatcher,
  target: string,
  signal: AbortSignal,
  timeout: AbortSignal,
  timedOut: () => RunnerError,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  try {
    return await pool.request(options);
  } catch (error) {
    if (signal.aborted) {
      throw signal.reason;
    }
    if (timeout.aborted) throw timedOut();
    const kind = httpRequestErrorKind(error);
    throw new RunnerError(`${target} failed: ${errorMessage(error)}`, kind, [], { cause: error });
  }
}

/** Validates `base_url`: an absolute http(s) URL without credentials. The URL itself is never echoed. */
export function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (error) {
    const message = 'HTTP_REQUEST runner settings base_url is not an absolute URL (e.g. https://api.example.com)';
    throw new RunnerError(message, 'fatal', [], { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const message = `HTTP_REQUEST runner settings base_url must use http or https, not "${url.protocol}"`;
    throw new RunnerError(message, 'fatal');
  }
  if (url.username !== '' || url.password !== '') {
    const message = 'HTTP_REQUEST runner settings base_url must not contain credentials; send an Authorization header';
    throw new RunnerError(message, 'fatal');
  }
  return url;
}

/** The job's method, upper-cased; empty means GET. */
function requestMethod(method: string): string {
  if (method === '') {
    return 'GET';
  }
  if (!METHOD_TOKEN.test(method)) {
    throw new RunnerError(`HTTP_REQUEST method ${JSON.stringify(clip(method))} is not a valid HTTP method`, 'fatal');
  }
  return method.toUpperCase();
}

/**
 * Resolves the job's path against the base URL and appends the queries; it must stay on the base's origin unless
 * allow_any_origin is set (then it may be any absolute http(s) URL without credentials).
 */
function requestUrl(
  settings: Pick<LoadedSettings, 'base' | 'anyOrigin'>,
  path: string,
  queries: readonly HttpRequestArgs_KeyValue[],
): URL {
  const base = settings.base;
  let url: URL;
  try {
    url = new URL(path, base);
  } catch (error) {
    throw new RunnerError(`HTTP_REQUEST path ${JSON.stringify(clip(path))} is not a valid URL path`, 'fatal', [], {
      cause: error,
    });
  }
  if (settings.anyOrigin) {
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      const message = `HTTP_REQUEST path must be an http(s) URL without credentials, not ${JSON.stringify(clip(url.protocol))}`;
      throw new RunnerError(message, 'fatal');
    }
  } else if (base === undefined || url.origin !== base.origin || url.username !== '' || url.password !== '') {
    const message = `HTTP_REQUEST path ${JSON.stringify(clip(path))} leaves the worker's base_url origin ${base?.origin ?? ''}`;
    throw new RunnerError(message, 'fatal');
  }
  for (const query of queries) {
    url.searchParams.append(query.key, query.value);
  }
  return url;
}

/** Response headers as key/value pairs, one pair per value of a repeated header. */
function headerList(headers: Dispatcher.ResponseData['headers']): HttpRequestResult_KeyValue[] {
  return Object.entries(headers).flatMap(([key, value]) => {
    if (value === undefined) {
      return [];
    }
    return (Array.isArray(value) ? value : [value]).map((item) => ({ key, value: item }));
  });
}
