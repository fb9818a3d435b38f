/**
 * Classifies a provider failure so activities know whether to retry, wait or give up, and says in one line
 * what failed, where (URL or host, never a query string), why, and what to do next. No message holds the API
 * key, even when the provider echoes it.
 *
 * | failure | kind |
 * |---|---|
 * | no answer: ECONNREFUSED, ECONNRESET / socket hang up, ETIMEDOUT (connect bound), EPIPE, EHOSTUNREACH, EAI_AGAIN, the client's timeout | `unreachable` |
 * | ENOTFOUND (unknown host), TLS certificate refused, TLS handshake failed (e.g. https:// to a plain-http server) | `bad_endpoint` |
 * | 401 | `auth` |
 * | 403 | `permission` |
 * | 404 | `not_found`; `bad_endpoint` when the answer is not the API's (an HTML page, OpenAI's "Invalid URL") |
 * | 408, 409, 5xx, a connection dropped while reading an answer | `transient` |
 * | 429 (with retry-after) | `rate_limited` |
 * | other 4xx | `invalid_request` |
 *
 * The SDKs drop a fetch error's details on timeouts (`APIConnectionTimeoutError` has no cause), so `call`
 * traces the request in flight (the client's fetch is wrapped by `tracedFetch`): the method, URL, base URL and
 * timeout of the request that failed are known whatever the SDK kept.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { redact } from '../secrets';
import { FetchFailure, safeUrl, type FetchFunction } from './streaming-fetch';
import { ProviderError, type ProviderErrorKind } from './types';

/** Who the provider is, for messages: its name, and the worker env vars of its key and base URL. */
export interface ProviderInfo {
  label: string;
  keyEnv: string;
  baseEnv: string;
  /** The base URL when neither `apiBase` nor `baseEnv` gives one (null or absent: the SDK's own default, if any). */
  defaultBaseURL?: string | null;
  /** What a right base URL looks like, e.g. "OpenAI-compatible base URLs end in /v1". */
  baseHint?: string;
}

/** What the client of the request in flight is: where it points, its timeout, the secrets it holds. */
export interface ClientInfo {
  baseURL: string;
  timeoutMs: number;
  secrets: string[];
}

interface Trace {
  request: { method: string; url: string } | null;
  client: ClientInfo | null;
  failure: unknown;
}

const traces = new AsyncLocalStorage<Trace>();

/** Wraps a client's fetch so that a `call` in progress knows which request failed and how. */
export function tracedFetch(fetch: FetchFunction, client: () => ClientInfo): FetchFunction {
  return async (input, init) => {
    const trace = traces.getStore();
    if (trace) {
      const url = input instanceof Request ? input.url : String(input);
      trace.request = { method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(), url: safeUrl(url) };
      trace.client = client();
      trace.failure = null;
    }
    try {
      return await fetch(input, init);
    } catch (err) {
      if (trace) trace.failure = err;
      throw err;
    }
  };
}

/** Parses `retry-after-ms` / `retry-after` (seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | null {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers?.get('retry-after');
  if (!value) return null;
  if (Number.isFinite(Number(value))) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The kind of an HTTP status (no answer: `status` undefined is `unreachable`). */
export function kindOfStatus(status: number | undefined): ProviderErrorKind {
  if (status === undefined) return 'unreachable';
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status === 409 || status >= 500) return 'transient';
  return 'invalid_request';
}

/** `status` undefined means the request never got an answer (connection refused, reset, timed out). */
export function classifyHttpFailure(status: number | undefined, headers: Headers | undefined, message: string, cause: unknown, url: string | null = null): ProviderError {
  const kind = kindOfStatus(status);
  return new ProviderError(kind, message, {
    status: status ?? null,
    cause,
    url,
    retryAfterMs: kind === 'rate_limited' ? retryAfterMs(headers) : null,
  });
}

// ---- failures without an answer ----

const TLS_CERT = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

/** Why a connection failed, in words, for the codes of `unreachable` failures. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ENETDOWN: 'network down',
  EADDRNOTAVAIL: 'address not available',
};

/** Codes of a connection that was made and then lost before the answer. */
const DROPPED: Record<string, string> = {
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ECONNABORTED: 'connection aborted',
  UND_ERR_SOCKET: 'connection closed',
};

/** Codes that say an answer was cut off while it was read (the stream of an answer, not the request). */
const CUT_OFF = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'ETIMEDOUT']);

function isTlsProtocolError(code: string, message: string): boolean {
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || (code.startsWith('ERR_TLS_') && !TLS_CERT.has(code)) || /\bSSL routines\b/.test(message);
}

/** The words of an OpenSSL message worth showing ("wrong version number"), without its file and line noise. */
function sslReason(message: string): string | null {
  const m = /SSL routines:[^:]*:([^:]+)/.exec(message);
  return m ? m[1].trim() : null;
}

function baseUrlOrigin(provider: ProviderInfo): string {
  return `(set by apiBase / --api-base, or ${provider.baseEnv} on the worker)`;
}

function noAnswer(what: string, f: FetchFailure, provider: ProviderInfo): { kind: ProviderErrorKind; message: string } {
  const cause = isError(f.cause) ? f.cause.message : '';
  const code = f.code;
  const where = baseUrlOrigin(provider);
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    return { kind: 'bad_endpoint', message: `${what}: ${f.url}: unknown host "${f.host}" (${code}). Check the base URL ${where}.` };
  }
  if (code === 'EAI_AGAIN' || code === 'EAI_FAIL') {
    return { kind: 'unreachable', message: `${what}: ${f.url}: DNS lookup of "${f.host}" failed for now (${code}). Check the worker's DNS and network if this lasts.` };
  }
  if (TLS_CERT.has(code)) {
    const detail = cause && !cause.includes('\n') ? `${code}: ${cause}` : code;
    return {
      kind: 'bad_endpoint',
      message: `${what}: ${f.url}: TLS certificate refused (${detail}). Check the base URL ${where}; to trust a private CA, set NODE_EXTRA_CA_CERTS on the worker.`,
    };
  }
  if (isTlsProtocolError(code, cause)) {
    const reason = sslReason(cause);
    const detail = reason ? `${code}: ${reason}` : code;
    const mixup = /wrong version number|packet length too long|http request|unknown protocol/i.test(cause) || code === 'ERR_SSL_WRONG_VERSION_NUMBER';
    const hint = mixup
      ? ` The server does not speak TLS there: use http:// in the base URL ${where} if it is a plain-http server.`
      : ` Check the base URL ${where}.`;
    return { kind: 'bad_endpoint', message: `${what}: ${f.url}: TLS handshake failed (${detail}).${hint}` };
  }
  if (f.connectTimeoutMs !== null) {
    return {
      kind: 'unreachable',
      message: `${what}: cannot connect to ${f.url} (no connection within ${seconds(f.connectTimeoutMs)}, ETIMEDOUT). Is the host reachable from the worker (firewall, proxy), and is the provider's base URL right? ${where}`,
    };
  }
  if (code in UNREACHABLE) {
    return { kind: 'unreachable', message: `${what}: cannot connect to ${f.url} (${UNREACHABLE[code]}, ${code}). Is the provider's base URL right? ${where}` };
  }
  if (code in DROPPED) {
    const why = /socket hang up/i.test(cause) ? 'socket hang up' : DROPPED[code];
    const tlsHint = f.url.startsWith('http:') ? '; an https server hangs up on plain http, so use https:// if it speaks TLS' : '';
    return {
      kind: 'unreachable',
      message: `${what}: ${f.url}: the connection closed before an answer (${why}, ${code}). If this lasts, check the base URL ${where} and any proxy in between${tlsHint}.`,
    };
  }
  return { kind: 'transient', message: `${what}: ${f.method} ${f.url} failed before an answer (${code}${cause ? `: ${oneLine(cause, 160)}` : ''}).` };
}

function seconds(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

// ---- answers that are errors ----

interface HttpDetails {
  status: number;
  /** The provider's error code or type (`invalid_api_key`, `not_found_error`, ...). */
  code: string | null;
  /** The provider's error message, on one line and shortened. */
  message: string | null;
  /** The answer carries the provider's error shape (JSON with an error object). */
  shaped: boolean;
  /** What the body was when it was not JSON ("an HTML page", "a text answer"), else null. */
  foreignBody: string | null;
  requestId: string | null;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the provider's error out of an SDK `APIError` (OpenAI: `error` is the inner object; Anthropic: the whole body). */
function httpDetails(err: Error & { status?: number; headers?: Headers; error?: unknown }): HttpDetails {
  const status = err.status ?? 0;
  const body = err.error;
  const inner = isObject(body) && isObject(body.error) ? body.error : isObject(body) && ('message' in body || 'type' in body || 'code' in body) ? body : null;
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
  const contentType = err.headers?.get('content-type') ?? '';
  const json = /\bjson\b/i.test(contentType);
  // Without JSON the SDK's message is "<status> <body text>" (or "... status code (no body)").
  const text = err.message.replace(/^\d{3}\s*/, '');
  const noBody = /status code \(no body\)$/.test(err.message);
  let foreignBody: string | null = null;
  if (!json && !inner && !noBody) {
    if (/html/i.test(contentType) || /^\s*<(!doctype|html|head|body)\b/i.test(text)) foreignBody = 'an HTML page';
    else foreignBody = `a ${contentType ? contentType.split(';')[0] : 'non-JSON'} answer`;
  }
  const message = inner ? str(inner.message) : foreignBody ? (foreignBody === 'an HTML page' ? htmlTitle(text) : oneLine(text, 120)) : null;
  return {
    status,
    // OpenAI's `code` says most (`invalid_api_key`); Anthropic has only `type` (`not_found_error`). OpenAI's
    // generic type `invalid_request_error` says nothing the status does not.
    code: inner ? str(inner.code) ?? (inner.type === 'invalid_request_error' ? null : str(inner.type)) : null,
    message: message ? oneLine(message, 300) : null,
    shaped: inner !== null,
    foreignBody,
    requestId: err.headers?.get('x-request-id') ?? err.headers?.get('request-id') ?? null,
  };
}

function htmlTitle(html: string): string | null {
  const m = /<title[^>]*>([^<]*)<\/title>/i.exec(html) ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(html);
  return m ? m[1].trim() || null : null;
}

/** What the provider said besides the status: `invalid_api_key: Incorrect API key provided`, or what the body was. */
function detailText(d: HttpDetails): string | null {
  if (d.message) return d.code ? `${d.code}: ${d.message}` : d.message;
  if (d.code) return d.code;
  return d.foreignBody ? `with ${d.foreignBody}` : null;
}

/** `404 model_not_found: The model ...` style: the status, then what the provider said. */
function statusText(d: HttpDetails): string {
  const detail = detailText(d);
  if (!detail) return String(d.status);
  return detail.startsWith('with ') ? `${d.status} ${detail}` : d.code ? `${d.status} ${detail}` : `${d.status}: ${detail}`;
}

/** An unknown model, when the provider says so (OpenAI's `model_not_found`, "The model `x` does not exist", Anthropic's "model: x"). */
function unknownModel(d: HttpDetails): string | null | undefined {
  const text = d.message ?? '';
  const named = /\bmodel[\s:]+[`'"]?([\w.:/@-]+)[`'"]?/i.exec(text);
  if (d.code === 'model_not_found' || /\bmodel\b/i.test(text)) return named ? named[1] : null;
  return undefined;
}

function answered(what: string, err: Error & { status?: number; headers?: Headers; error?: unknown }, provider: ProviderInfo, trace: Trace | null): { kind: ProviderErrorKind; message: string } {
  const d = httpDetails(err);
  const label = provider.label;
  const url = trace?.request?.url ?? null;
  const base = trace?.client ? safeUrl(trace.client.baseURL).replace(/\/$/, '') : null;
  const at = url ? ` at ${url}` : base ? ` at ${base}` : '';
  const baseAt = base ? ` at ${base}` : at;
  const where = baseUrlOrigin(provider);
  const baseHint = provider.baseHint ? ` (${provider.baseHint})` : '';
  const kind = kindOfStatus(d.status);
  const withId = d.requestId ? ` (request id ${d.requestId})` : '';
  switch (kind) {
    case 'auth':
      return {
        kind,
        message: `${what}: ${label} refused the API key (${d.status}${d.code ? ` ${d.code}` : ''})${baseAt}. Pass --api-key on the CLI or apiKey in the library, or set ${provider.keyEnv} for the worker.`,
      };
    case 'permission':
      return { kind, message: `${what}: ${label} says the API key may not do this (${statusText(d)})${at}: check the key's project/permissions.` };
    case 'not_found': {
      const invalidUrl = d.shaped && /^Invalid URL\b/.test(d.message ?? '');
      if (d.foreignBody || invalidUrl) {
        const answer = d.foreignBody ? `answered 404 with ${d.foreignBody}${d.message ? ` ("${d.message}")` : ''}` : `answered 404 (${d.message})`;
        return {
          kind: 'bad_endpoint',
          message: `${what}: ${url ?? base ?? 'the provider'} ${answer}, so the base URL${base ? ` ${base}` : ''} is not the ${label} API${baseHint}. Check the base URL ${where}.`,
        };
      }
      const model = unknownModel(d);
      if (model !== undefined) {
        return {
          kind,
          message: `${what}: ${label} does not know the model${model ? ` "${model}"` : ''} or the key may not use it (${statusText(d)})${at}. Check the model in the requests and the key's project.`,
        };
      }
      return { kind, message: `${what}: not found (${statusText(d)})${at}.` };
    }
    case 'rate_limited': {
      const wait = retryAfterMs(err.headers);
      // A used-up quota is not cured by waiting: it fails at once, like a missing permission.
      if (d.code === 'insufficient_quota') {
        return { kind: 'permission', message: `${what}: ${label} says the account's quota is used up (${statusText(d)})${at}: check its plan and billing.` };
      }
      return { kind, message: `${what}: ${label} rate limit (${statusText(d)})${at}${wait !== null ? `; retry after ${seconds(Math.round(wait))}` : ''}.` };
    }
    case 'transient':
      return { kind, message: `${what}: ${label} answered ${d.status}${detailText(d) ? ` (${detailText(d)})` : ''}${at}${withId}; this is usually temporary.` };
    default:
      if (d.foreignBody && (d.status === 405 || d.status === 400)) {
        const said = d.message ? ` ("${d.message}")` : '';
        const plainToTls = /plain HTTP request was sent to HTTPS port/i.test(d.message ?? '');
        return {
          kind: 'bad_endpoint',
          message: plainToTls
            ? `${what}: ${url ?? base ?? 'the provider'} answered ${d.status} with ${d.foreignBody}${said}: the server speaks https there, so use https:// in the base URL ${where}.`
            : `${what}: ${url ?? base ?? 'the provider'} answered ${d.status} with ${d.foreignBody}${said}, so the base URL${base ? ` ${base}` : ''} is not the ${label} API${baseHint}. Check the base URL ${where}.`,
        };
      }
      return { kind, message: `${what}: ${label} rejected the request (${statusText(d)})${at}.` };
  }
}

// ---- secrets ----

/** Masks key-like tokens (sk-..., Bearer ...) and every secret the client holds. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = redact(text, { apiKey: undefined, clientArgs: Object.fromEntries(secrets.map((s, i) => [String(i), s])) });
  out = out.replace(/\b(sk-(?:ant-|proj-|svcacct-|admin-)?)[A-Za-z0-9_-]{6,}/g, '$1***');
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi, '$1 ***');
  return out;
}

/** Strings in client args (headers, organization, ...) that might be secret; long enough to be worth masking. */
export function secretsOf(apiKey: string | undefined, clientArgs: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length >= 6) out.push(value);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (isObject(value)) Object.values(value).forEach(walk);
  };
  if (apiKey) out.push(apiKey);
  walk(clientArgs);
  return out;
}

// ---- the SDK side ----

/** The error classes of a Stainless-generated SDK (`openai`, `@anthropic-ai/sdk`). */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number; headers?: Headers };
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError?: abstract new (...args: never[]) => Error;
}

/** The first error in a cause chain that matches. */
function findCause<T>(err: unknown, test: (e: unknown) => e is T): T | null {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (test(e)) return e;
  }
  return null;
}

const isFetchFailure = (e: unknown): e is FetchFailure => e instanceof FetchFailure;
/** Duck-typed: errors of Node's core come from another realm under a test runner's vm, where `instanceof Error` fails. */
const isError = (e: unknown): e is Error => e instanceof Error || (typeof e === 'object' && e !== null && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string');
const isAbort = (e: unknown): e is Error => isError(e) && e.name === 'AbortError';
const codeOf = (e: unknown): string | null => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
};

const GENERIC: ProviderInfo = { label: 'The provider', keyEnv: 'the provider key variable', baseEnv: 'the provider base URL variable' };

/**
 * The error classes `sdkCalls` reads, for SDKs that are not Stainless-generated (Gemini's, Mistral's): their
 * failures are recast as these (status, headers, the parsed body; the fetch failure as `cause`), so every
 * provider gets the same kinds, messages and secret scrubbing.
 */
export class ShapedApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly headers: Headers | undefined,
    readonly error: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No answer (connection refused, reset, DNS, TLS); the fetch failure is in the cause chain. */
export class ShapedConnectionError extends ShapedApiError {
  constructor(cause: unknown, message = 'Connection error.') {
    super(message, undefined, undefined, undefined, { cause });
  }
}

/** The client's own timeout ran out. */
export class ShapedTimeoutError extends ShapedConnectionError {}

/** The shaped classes, as `sdkCalls` takes them. */
export const SHAPED_ERRORS: SdkErrors = { APIError: ShapedApiError, APIConnectionError: ShapedConnectionError, APIConnectionTimeoutError: ShapedTimeoutError };

/** `call(what, fn)` for one SDK: runs a provider call and turns the SDK's errors into `ProviderError`s. */
export function sdkCalls(sdk: SdkErrors, provider: ProviderInfo = GENERIC) {
  const build = (kind: ProviderErrorKind, message: string, trace: Trace | null, opts: { status?: number | null; cause: unknown; url?: string | null; headers?: Headers }) =>
    new ProviderError(kind, scrub(message, trace?.client?.secrets), {
      status: opts.status ?? null,
      cause: opts.cause,
      url: opts.url ?? null,
      retryAfterMs: kind === 'rate_limited' ? retryAfterMs(opts.headers) : null,
    });

  const toProviderError = (err: unknown, what: string, trace: Trace | null = null): unknown => {
    if (err instanceof ProviderError) return err;
    if (!(err instanceof sdk.APIError)) {
      // An answer cut off while it was read (the SDK reads JSON bodies itself): the connection dropped.
      const code = codeOf(err);
      if (isError(err) && code === 'ERR_INVALID_URL') {
        // The SDK builds request URLs from the base URL before any request: the base URL does not parse.
        return build('bad_endpoint', `${what}: the ${provider.label} base URL is not a valid URL (${code}). Check the base URL ${baseUrlOrigin(provider)}.`, trace, { cause: err });
      }
      if (isError(err) && code && CUT_OFF.has(code)) {
        const url = trace?.request?.url ?? null;
        return build('transient', `${what}: the connection dropped while reading the answer${url ? ` of ${url}` : ''} (${code}: ${oneLine(err.message, 120)}).`, trace, { cause: err, url });
      }
      return err;
    }
    const apiError = err as Error & { status?: number; headers?: Headers; error?: unknown };
    const noAnswerError = err instanceof sdk.APIConnectionError || apiError.status === undefined;
    if (!noAnswerError) {
      const { kind, message } = answered(what, apiError, provider, trace);
      return build(kind, message, trace, { status: apiError.status, cause: err, url: trace?.request?.url ?? (trace?.client ? safeUrl(trace.client.baseURL) : null), headers: apiError.headers });
    }
    // No answer. The SDK keeps the fetch error as `cause`, except on timeouts, where the trace has it.
    const failure = findCause(err, isFetchFailure) ?? findCause(trace?.failure, isFetchFailure);
    if (failure) {
      const { kind, message } = noAnswer(what, failure, provider);
      return build(kind, message, trace, { cause: err, url: failure.url });
    }
    const url = trace?.request?.url ?? (trace?.client ? safeUrl(trace.client.baseURL) : null);
    if (url && !/^https?:/.test(url)) {
      return build('bad_endpoint', `${what}: the ${provider.label} base URL must be http:// or https:// (got ${url}). Check the base URL ${baseUrlOrigin(provider)}.`, trace, { cause: err, url });
    }
    const timedOut = (sdk.APIConnectionTimeoutError && err instanceof sdk.APIConnectionTimeoutError) || findCause(trace?.failure, isAbort) !== null;
    if (timedOut) {
      const ms = trace?.client?.timeoutMs;
      return build(
        'unreachable',
        `${what}: no answer from ${url ?? 'the provider'}${ms ? ` within ${seconds(ms)}` : ''} (the client's timeout). The provider may be overloaded, or the base URL may point at something that does not answer ${baseUrlOrigin(provider)}; if answers are just slow, raise clientArgs.timeout.`,
        trace,
        { cause: err, url },
      );
    }
    // A fetch error that is not a network failure (the request body could not be read): pass it on as it is.
    const local = (err as { cause?: unknown }).cause ?? trace?.failure;
    if (isError(local) && !(local instanceof sdk.APIError) && codeOf(local) && !CUT_OFF.has(codeOf(local)!)) return local;
    const detail = isError(local) ? local.message : apiError.message;
    return build('unreachable', `${what}: no answer from ${url ?? 'the provider'} (${oneLine(detail, 160)}). Is the provider's base URL right? ${baseUrlOrigin(provider)}`, trace, { cause: err, url });
  };

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const trace: Trace = { request: null, client: null, failure: null };
    try {
      return await traces.run(trace, fn);
    } catch (err) {
      throw toProviderError(err, what, trace);
    }
  };
  return { toProviderError: (err: unknown, what: string) => toProviderError(err, what), call };
}
