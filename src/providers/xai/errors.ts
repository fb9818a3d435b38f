/**
 * Turns `openai` SDK errors from xAI into `ProviderError`s. xAI answers errors in OpenAI's shape
 * (`{error:{message,type,param,code}}`) or its own (`{code, error: "message"}`, docs/provider-apis-2.md section 8);
 * the SDK keeps only the string of the latter, so it is put back into OpenAI's shape first, for the message.
 */
import OpenAI from 'openai';
import { sdkCalls, type ProviderInfo } from '../http-errors';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{code, error: "..."}` as the SDK leaves it (`err.error` is the string) -> `{message, code: null}`. */
export function normalizeXaiError(err: unknown): unknown {
  if (err instanceof OpenAI.APIError) {
    const inner: unknown = err.error;
    if (typeof inner === 'string' && inner !== '') (err as { error: unknown }).error = { message: inner, type: null, param: null, code: null };
    else if (isObject(inner) && typeof inner.error === 'string' && inner.message === undefined) {
      (err as { error: unknown }).error = { message: inner.error, type: null, param: null, code: typeof inner.code === 'string' ? inner.code : null };
    }
  }
  return err;
}

export function xaiCalls(provider: ProviderInfo) {
  const calls = sdkCalls(OpenAI, provider);
  return {
    toProviderError: calls.toProviderError,
    call: <T>(what: string, fn: () => Promise<T>): Promise<T> =>
      calls.call(what, async () => {
        try {
          return await fn();
        } catch (err) {
          throw normalizeXaiError(err);
        }
      }),
  };
}
