/**
 * Turns `together-ai` SDK errors into `ProviderError`s (through `sdkCalls`, like every Stainless SDK: `err.status`,
 * `err.headers`, `err.error` = the whole body). Together answers errors in OpenAI's shape
 * (`{error: {message, type, param, code}}`); a body whose `error` is a plain string (`{error: "..."}`) is put into
 * that shape first, so its message is not lost. The adapter's own requests (the upload's redirect and PUT) fail
 * with the SDK's classes too (`httpError`, `APIConnectionError`), so every call is classified the same way.
 */
import Together from 'together-ai';
import { sdkCalls, type ProviderInfo, type SdkErrors } from '../http-errors';

export const TOGETHER_ERRORS: SdkErrors = {
  APIError: Together.APIError,
  APIConnectionError: Together.APIConnectionError,
  APIConnectionTimeoutError: Together.APIConnectionTimeoutError,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{error: "message"}` or a bare string body -> `{error: {message}}`, the shape the classifier reads. */
export function normalizeTogetherError(err: unknown): unknown {
  if (err instanceof Together.APIError) {
    const body: unknown = err.error;
    if (typeof body === 'string' && body !== '') (err as { error: unknown }).error = { error: { message: body, type: null, param: null, code: null } };
    else if (isObject(body) && typeof body.error === 'string' && body.message === undefined) {
      (err as { error: unknown }).error = { error: { message: body.error, type: null, param: null, code: typeof body.code === 'string' ? body.code : null } };
    }
  }
  return err;
}

/** The SDK's error for an HTTP answer that is an error, built the way the SDK builds it from the body text. */
export function httpError(status: number, headers: Headers, text: string): Error {
  let json: object | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    json = typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    json = undefined;
  }
  return Together.APIError.generate(status, json, json === undefined ? text : undefined, headers);
}

export function togetherCalls(provider: ProviderInfo) {
  const calls = sdkCalls(TOGETHER_ERRORS, provider);
  return {
    toProviderError: (err: unknown, what: string) => calls.toProviderError(normalizeTogetherError(err), what),
    call: <T>(what: string, fn: () => Promise<T>): Promise<T> =>
      calls.call(what, async () => {
        try {
          return await fn();
        } catch (err) {
          throw normalizeTogetherError(err);
        }
      }),
  };
}
