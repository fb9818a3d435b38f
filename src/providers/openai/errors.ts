/** Turns `openai` SDK errors into `ProviderError`s that say what failed, where, why and what to do. */
import OpenAI from 'openai';
import { sdkCalls, type ProviderInfo } from '../http-errors';

/** `call(what, fn)` and `toProviderError` for a provider spoken to through the `openai` SDK (OpenAI or a compatible one). */
export function openAICalls(provider: ProviderInfo) {
  return sdkCalls(OpenAI, provider);
}
