/**
 * The Gemini Developer API's batch mode: OpenAI chat requests translated (./mapping.ts), sent inline or as an
 * uploaded file, results mapped back to OpenAI lines (./adapter.ts). A Gemini batch has no metadata: the
 * idempotency key is its `displayName` (`anybatch:<batch id>/<part>#<run nonce>`), searched by listing.
 */
import { providerInfo, type ProviderDefinition } from '../definition';
import { GeminiAdapter } from './adapter';
import { GEMINI_STATUS_MAP } from './batch-status';
import { GEMINI_ALT_KEY_ENV, GEMINI_BASE_ENV, GEMINI_DEFAULT_BASE_URL, GEMINI_KEY_ENV } from './client';
import { GEMINI_LIMITS } from './limits';
import { GEMINI_OPTION_NAMES, parseGeminiOptions, type GeminiOptions } from './options';

export type { GeminiOptions } from './options';

export const gemini: ProviderDefinition<'gemini', GeminiOptions> = {
  name: 'gemini',
  label: 'Gemini',
  capabilities: GEMINI_LIMITS,
  env: { apiKey: GEMINI_KEY_ENV, baseURL: GEMINI_BASE_ENV, altApiKey: GEMINI_ALT_KEY_ENV },
  defaultBaseURL: GEMINI_DEFAULT_BASE_URL,
  baseHint: "Gemini's base URL has no /v1beta",
  reservedMetadata: [],
  statusMap: GEMINI_STATUS_MAP,
  options: { names: GEMINI_OPTION_NAMES, parse: parseGeminiOptions },
  createAdapter: () => new GeminiAdapter(gemini.capabilities, providerInfo(gemini)),
};
