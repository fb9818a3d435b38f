/**
 * Turns `@google/genai` failures into `ProviderError`s through the shared classification (`sdkCalls` in
 * ../http-errors.ts). The SDK throws `ApiError{status, message: JSON.stringify(body)}` without the response's
 * headers, and lets a failed fetch's own error through; both are re-shaped here into the Stainless-like errors
 * `sdkCalls` reads (status, headers, the parsed body, the fetch failure as `cause`). The headers of the last
 * failed answer are kept by the client's fetch (`rememberFailures`), so a 429's `retry-after` is honoured.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiError } from '@google/genai';
import { SHAPED_ERRORS, ShapedApiError, ShapedConnectionError, sdkCalls, type ProviderInfo } from '../http-errors';
import { FetchFailure, type FetchFunction } from '../streaming-fetch';

const lastFailure = new AsyncLocalStorage<{ headers: Headers | null }>();

/** Wraps the client's fetch so that the headers of an error answer are known to the call that got it. */
export function rememberFailures(fetch: FetchFunction): FetchFunction {
  return async (input, init) => {
    const response = await fetch(input, init);
    const store = lastFailure.getStore();
    if (store && !response.ok) store.headers = response.headers;
    return response;
  };
}

function parseBody(message: string): unknown {
  try {
    return JSON.parse(message) as unknown;
  } catch {
    return null;
  }
}

/** The SDK's error as `sdkCalls` reads it: the body's `{error: {message, status}}` with the status name as the code. */
function reshape(err: unknown, headers: Headers | null): unknown {
  if (err instanceof ApiError) {
    const body = parseBody(err.message) as { error?: { message?: unknown; status?: unknown; code?: unknown } } | null;
    const inner = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : null;
    const message = typeof inner?.message === 'string' ? inner.message : err.message;
    let status = err.status;
    // Google answers a key it does not know with 400 INVALID_ARGUMENT ("API key not valid"): a refused key all the same.
    if (status === 400 && /API key not valid/i.test(message)) status = 401;
    const code = typeof inner?.status === 'string' && inner.status !== '' ? inner.status : null;
    const shaped = inner ? { error: { message, code } } : null;
    const h = headers ?? new Headers(inner ? { 'content-type': 'application/json' } : {});
    return new ShapedApiError(`${status} ${message}`, status, h, shaped, { cause: err });
  }
  if (err instanceof ShapedApiError) return err;
  // A fetch that got no answer: the SDK passes the fetch's error on as it is.
  const name = (err as { name?: unknown } | null)?.name;
  if (err instanceof FetchFailure || name === 'AbortError' || name === 'TimeoutError') return new ShapedConnectionError(err, err instanceof Error ? err.message : String(err));
  return err;
}

/** `call(what, fn)` for the Gemini SDK, with the provider's names in messages. */
export function geminiCalls(provider: ProviderInfo) {
  const { call } = sdkCalls(SHAPED_ERRORS, provider);
  return {
    call: <T>(what: string, fn: () => Promise<T>): Promise<T> =>
      call(what, () => {
        const store = { headers: null as Headers | null };
        return lastFailure.run(store, async () => {
          try {
            return await fn();
          } catch (err) {
            throw reshape(err, store.headers);
          }
        });
      }),
  };
}
