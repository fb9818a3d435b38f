/**
 * Mistral's Batch Jobs (docs/provider-apis-2.md section 2) through `@mistralai/mistralai`: OpenAI lines translated
 * to Mistral's `{custom_id, body}` (native lines accepted too), one model per job at job level, `timeout_hours`
 * from the completion window, the idempotency key in the job's metadata (./adapter.ts, ./mapping.ts).
 */
import { NO_OPTIONS, providerInfo, type NoOptions, type ProviderDefinition } from '../definition';
import { KEY_METADATA, MistralAdapter } from './adapter';
import { MISTRAL_LIMITS } from './limits';
import { MISTRAL_STATUS_MAP } from './mapping';

/** Mistral has no options of its own. */
export type MistralOptions = NoOptions;

export const mistral: ProviderDefinition<'mistral', MistralOptions> = {
  name: 'mistral',
  label: 'Mistral',
  capabilities: MISTRAL_LIMITS,
  env: { apiKey: 'MISTRAL_API_KEY', baseURL: 'MISTRAL_BASE_URL' },
  defaultBaseURL: 'https://api.mistral.ai',
  baseHint: "Mistral's base URL has no /v1",
  reservedMetadata: [KEY_METADATA],
  statusMap: MISTRAL_STATUS_MAP,
  options: NO_OPTIONS,
  createAdapter: () => new MistralAdapter(mistral.capabilities, providerInfo(mistral)),
};
