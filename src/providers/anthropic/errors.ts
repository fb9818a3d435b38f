/** Turns `@anthropic-ai/sdk` errors into `ProviderError`s (529 overloaded is transient, like any 5xx). */
import Anthropic from '@anthropic-ai/sdk';
import { sdkCalls, type ProviderInfo } from '../http-errors';

/** `call(what, fn)` and `toProviderError` for Anthropic's SDK, with the provider's names in messages. */
export function anthropicCalls(provider: ProviderInfo) {
  return sdkCalls(Anthropic, provider);
}
