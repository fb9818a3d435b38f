/** Turns `openai` SDK errors into `ProviderError`s. */
import OpenAI from 'openai';
import { classifyHttpFailure } from '../http-errors';
import { ProviderError } from '../types';

export function toProviderError(err: unknown, what: string): unknown {
  if (err instanceof ProviderError || !(err instanceof OpenAI.APIError)) return err;
  const status = err instanceof OpenAI.APIConnectionError ? undefined : err.status;
  return classifyHttpFailure(status, err.headers, `${what}: ${err.message}`, err);
}

/** Runs one provider call, turning SDK errors into `ProviderError`s. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toProviderError(err, what);
  }
}
