/**
 * One request to an OpenAI-compatible online endpoint, and what its answer means for the batch: a result line
 * (2xx, or a 4xx the request itself caused), a retry (429 with its `retry-after-ms` / `retry-after`, 408, 409,
 * 5xx, no answer or a timeout), or a failure of the whole batch (401, 403: the key is refused). Messages name the
 * URL, never the key.
 */
import crypto from 'node:crypto';
import type { Attempt, OnlineRequest } from '../../online/runner';
import { retryAfterMs } from '../http-errors';
import { safeUrl } from '../streaming-fetch';
import { ProviderError, type ProviderConnection, type ResultLine } from '../types';

export const KEY_ENV = 'OPENAI_COMPATIBLE_API_KEY';
export const BASE_ENV = 'OPENAI_COMPATIBLE_BASE_URL';
export const LABEL = 'OpenAI-compatible server';

/** Where the requests go and with which key. */
export interface OnlineTarget {
  /** The base URL, without a trailing `/` (e.g. `http://localhost:8000/v1`). */
  baseURL: string;
  apiKey: string;
  /** Extra headers from `clientArgs.defaultHeaders`. */
  headers: Record<string, string>;
}

/** The connection's base URL and key (else the worker's OPENAI_COMPATIBLE_BASE_URL / _API_KEY); both are required. */
export function onlineTarget(conn: ProviderConnection, env: NodeJS.ProcessEnv = process.env): OnlineTarget {
  const base = conn.apiBase ?? env[BASE_ENV];
  if (!base) {
    throw new ProviderError('bad_endpoint', `No ${LABEL} base URL: pass --api-base on the CLI or apiBase in the library (e.g. http://localhost:8000/v1), or set ${BASE_ENV} in the worker environment.`);
  }
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ProviderError('bad_endpoint', `The ${LABEL} base URL ${JSON.stringify(safeUrl(base))} is not a URL (e.g. http://localhost:8000/v1).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderError('bad_endpoint', `The ${LABEL} base URL ${safeUrl(base)} is not http(s).`);
  }
  const apiKey = conn.apiKey ?? env[KEY_ENV];
  if (!apiKey) {
    throw new ProviderError('auth', `No ${LABEL} API key: pass --api-key on the CLI or apiKey in the library, or set ${KEY_ENV} in the worker environment (servers without keys take any, e.g. "none").`);
  }
  const extra = conn.clientArgs?.defaultHeaders;
  const headers: Record<string, string> = {};
  if (extra && typeof extra === 'object') for (const [k, v] of Object.entries(extra)) if (typeof v === 'string') headers[k] = v;
  return { baseURL: base.replace(/\/+$/, ''), apiKey, headers };
}

/** `/v1/chat/completions` under a base URL ending in `/v1` is `<base>/chat/completions` (as the SDKs join them). */
export function endpointUrl(baseURL: string, endpoint: string): string {
  return baseURL + endpoint.replace(/^\/v1(?=\/)/, '');
}

/** A stable id for the result line of request `customId` of online batch `batchId`. */
export function requestLineId(batchId: string, customId: string): string {
  return 'batch_req_' + crypto.createHash('sha256').update(`${batchId}\0${customId}`).digest('hex').slice(0, 24);
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const RETRYABLE = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;

export interface SendContext {
  target: OnlineTarget;
  url: string;
  /** The online batch's id (line ids derive from it). */
  batchId: string;
  timeoutMs: number;
}

/** Sends one request; the answer as an `Attempt` for the runner. */
export async function sendRequest(ctx: SendContext, request: OnlineRequest): Promise<Attempt> {
  const id = requestLineId(ctx.batchId, request.customId);
  // A timer of our own, cleared once the answer is read (`AbortSignal.timeout` would hold every request for its whole timeout).
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), ctx.timeoutMs);
  try {
    return await attempt(ctx, request, id, abort.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function attempt(ctx: SendContext, request: OnlineRequest, id: string, signal: AbortSignal): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(ctx.url, {
      method: 'POST',
      headers: { ...ctx.target.headers, 'content-type': 'application/json', authorization: `Bearer ${ctx.target.apiKey}` },
      body: JSON.stringify(request.body),
      signal,
    });
  } catch (err) {
    const timedOut = signal.aborted || (err as Error).name === 'TimeoutError';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = timedOut ? `no answer within ${ctx.timeoutMs} ms` : cause?.code ?? cause?.message ?? (err as Error).message;
    const line: ResultLine = {
      id,
      custom_id: request.customId,
      response: null,
      error: { code: timedOut ? 'request_timeout' : 'request_failed', message: `POST ${safeUrl(ctx.url)} failed: ${why}` },
    };
    return { kind: 'retry', line, retryAfterMs: null, rateLimited: false };
  }
  const status = response.status;
  if (status === 401 || status === 403) {
    await response.body?.cancel().catch(() => undefined);
    throw new ProviderError(status === 401 ? 'auth' : 'permission', `${LABEL} at ${safeUrl(ctx.url)} refused the API key (HTTP ${status}): check --api-key / apiKey or ${KEY_ENV}.`, { status, url: safeUrl(ctx.url) });
  }
  const body = await bodyOf(response);
  const line: ResultLine = {
    id,
    custom_id: request.customId,
    response: { status_code: status, request_id: response.headers.get('x-request-id') ?? '', body },
    error: null,
  };
  if (!RETRYABLE(status)) return { kind: 'done', line };
  return { kind: 'retry', line, retryAfterMs: status === 429 ? retryAfterMs(response.headers) : null, rateLimited: status === 429 };
}
