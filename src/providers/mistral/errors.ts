/**
 * Turns `@mistralai/mistralai` errors into `ProviderError`s through the shared classifier (../http-errors.ts).
 *
 * The SDK (Speakeasy-generated) throws `MistralError` (and subclasses: `SDKError`, `HTTPValidationError`) for
 * any 4XX/5XX answer, with the raw body unparsed; `ResponseValidationError` when a 2XX answer does not match its
 * schema; and `ConnectionError`, `RequestTimeoutError`, `RequestAbortedError` or `UnexpectedClientError` when no
 * answer came. These are recast as the Stainless-style errors `sdkCalls` reads (status, headers, parsed body),
 * so the kinds, messages and secret scrubbing are the same as for every other provider.
 */
import { SHAPED_ERRORS, ShapedApiError, ShapedConnectionError, ShapedTimeoutError, sdkCalls, type ProviderInfo } from '../http-errors';
import { ProviderError } from '../types';
import type { MistralErrors } from './sdk';


/** Mistral's error body: `{object: "error", message, type, param, code}`, or FastAPI's `{detail: [...]}` (422). */
function parseBody(body: string, contentType: string): unknown {
  if (!/\bjson\b/i.test(contentType)) return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { detail?: unknown }).detail)) {
      const first = (parsed as { detail: { msg?: unknown; loc?: unknown }[] }).detail[0];
      const where = Array.isArray(first?.loc) ? ` (${first.loc.join('.')})` : '';
      return { message: `${typeof first?.msg === 'string' ? first.msg : 'invalid request'}${where}`, type: 'validation_error' };
    }
    return parsed;
  } catch {
    return undefined;
  }
}

/** The error `sdkCalls` understands for one thrown by the SDK, or the error itself (local, not the provider's). */
function recast(errors: typeof MistralErrors, err: unknown, label: string): unknown {
  if (err instanceof errors.ResponseValidationError) {
    return new ProviderError('bad_endpoint', `${label} answered in a shape its SDK does not accept (${err.message.split('\n')[0]}); is the base URL the ${label} API?`, {
      status: err.statusCode,
      cause: err,
    });
  }
  if (err instanceof errors.MistralError) {
    const error = parseBody(err.body, err.contentType);
    // Like the Stainless SDKs: "<status> <body text>" when the body is not JSON, so foreign answers are recognised.
    const message = error === undefined ? `${err.statusCode} ${err.body || 'status code (no body)'}` : err.message;
    return new ShapedApiError(message, err.statusCode, err.headers, error, { cause: err });
  }
  if (err instanceof errors.RequestTimeoutError) return new ShapedTimeoutError(err);
  if (err instanceof errors.ConnectionError || err instanceof errors.UnexpectedClientError || err instanceof errors.RequestAbortedError) {
    return new ShapedConnectionError(err.cause ?? err);
  }
  return err;
}

/** `call(what, fn)` for the Mistral SDK, with the provider's names in messages. */
export function mistralCalls(provider: ProviderInfo, errors: () => typeof MistralErrors | null) {
  const calls = sdkCalls(SHAPED_ERRORS, provider);
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    calls.call(what, async () => {
      try {
        return await fn();
      } catch (err) {
        const loaded = errors();
        throw loaded ? recast(loaded, err, provider.label) : err;
      }
    });
  return { call, toProviderError: (err: unknown, what: string) => {
    const loaded = errors();
    return calls.toProviderError(loaded ? recast(loaded, err, provider.label) : err, what);
  } };
}
