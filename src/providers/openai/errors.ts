/** Classifies `openai` SDK errors so activities know whether to retry, wait or give up. */
import OpenAI from 'openai';
import { ProviderError } from '../types';

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

export function toProviderError(err: unknown, what: string): unknown {
  if (err instanceof ProviderError || !(err instanceof OpenAI.APIError)) return err;
  const detail = `${what}: ${err.message}`;
  const opts = { status: err.status ?? null, cause: err };
  if (err instanceof OpenAI.APIConnectionError) return new ProviderError('transient', detail, opts);
  switch (err.status) {
    case 401:
    case 403:
      return new ProviderError('auth', detail, opts);
    case 404:
      return new ProviderError('not_found', detail, opts);
    case 429:
      return new ProviderError('rate_limited', detail, { ...opts, retryAfterMs: retryAfterMs(err.headers) });
    case 408:
    case 409:
      return new ProviderError('transient', detail, opts);
    default:
      return (err.status ?? 500) >= 500 ? new ProviderError('transient', detail, opts) : new ProviderError('invalid_request', detail, opts);
  }
}

/** Runs one provider call, turning SDK errors into `ProviderError`s. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toProviderError(err, what);
  }
}
