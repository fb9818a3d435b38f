/** Turns `@anthropic-ai/sdk` errors into `ProviderError`s (529 overloaded is transient, like any 5xx). */
import Anthropic from '@anthropic-ai/sdk';
import { classifyHttpFailure } from '../http-errors';
import { ProviderError } from '../types';

export function toProviderError(err: unknown, what: string): unknown {
  if (err instanceof ProviderError || !(err instanceof Anthropic.APIError)) return err;
  const status = err instanceof Anthropic.APIConnectionError ? undefined : err.status;
  return classifyHttpFailure(status, err.headers, `${what}: ${err.message}`, err);
}

export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toProviderError(err, what);
  }
}
