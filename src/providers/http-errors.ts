/** Classifies a provider HTTP failure so activities know whether to retry, wait or give up. */
import { ProviderError } from './types';

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

/** `status` undefined means the request never got an answer (connection refused, reset, timed out). */
export function classifyHttpFailure(status: number | undefined, headers: Headers | undefined, message: string, cause: unknown): ProviderError {
  const opts = { status: status ?? null, cause };
  if (status === undefined) return new ProviderError('transient', message, opts);
  switch (status) {
    case 401:
    case 403:
      return new ProviderError('auth', message, opts);
    case 404:
      return new ProviderError('not_found', message, opts);
    case 429:
      return new ProviderError('rate_limited', message, { ...opts, retryAfterMs: retryAfterMs(headers) });
    case 408:
    case 409:
      return new ProviderError('transient', message, opts);
    default:
      return status >= 500 ? new ProviderError('transient', message, opts) : new ProviderError('invalid_request', message, opts);
  }
}

/** The error classes of a Stainless-generated SDK (`openai`, `@anthropic-ai/sdk`). */
export interface SdkErrors {
  APIError: abstract new (...args: never[]) => Error & { status?: number; headers?: Headers };
  APIConnectionError: abstract new (...args: never[]) => Error;
}

/** `call(what, fn)` for one SDK: runs a provider call and turns the SDK's errors into `ProviderError`s. */
export function sdkCalls(sdk: SdkErrors) {
  const toProviderError = (err: unknown, what: string): unknown => {
    if (err instanceof ProviderError || !(err instanceof sdk.APIError)) return err;
    const apiError = err as Error & { status?: number; headers?: Headers };
    const status = err instanceof sdk.APIConnectionError ? undefined : apiError.status;
    return classifyHttpFailure(status, apiError.headers, `${what}: ${apiError.message}`, err);
  };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toProviderError(err, what);
    }
  };
  return { toProviderError, call };
}
