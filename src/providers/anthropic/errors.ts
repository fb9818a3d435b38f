/** Turns `@anthropic-ai/sdk` errors into `ProviderError`s (529 overloaded is transient, like any 5xx). */
import Anthropic from '@anthropic-ai/sdk';
import { sdkCalls, type ProviderInfo } from '../http-errors';

export const ANTHROPIC_PROVIDER: ProviderInfo = {
  label: 'Anthropic',
  keyEnv: 'ANTHROPIC_API_KEY',
  baseEnv: 'ANTHROPIC_BASE_URL',
  baseHint: "Anthropic's base URL has no /v1",
};

export const { toProviderError, call } = sdkCalls(Anthropic, ANTHROPIC_PROVIDER);
