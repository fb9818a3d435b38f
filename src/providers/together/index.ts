/**
 * Together: OpenAI batch lines translated to Together's `{custom_id, body}`, uploaded through Together's redirect
 * flow and run as a batch job (docs/provider-apis-2.md section 6), through the `together-ai` client (./adapter.ts,
 * ./mapping.ts). Jobs carry no metadata: the idempotency key is the uploaded file's name, and the job is found
 * again by its input file. Together reports `progress`, never request counts.
 */
import { NO_OPTIONS, providerInfo, type NoOptions, type ProviderDefinition } from '../definition';
import { TogetherAdapter } from './adapter';
import { TOGETHER_LIMITS } from './limits';
import { TOGETHER_STATUS_MAP } from './mapping';

/** Together has no options of its own. */
export type TogetherOptions = NoOptions;

export const together: ProviderDefinition<'together', TogetherOptions> = {
  name: 'together',
  label: 'Together',
  capabilities: TOGETHER_LIMITS,
  env: { apiKey: 'TOGETHER_API_KEY', baseURL: 'TOGETHER_BASE_URL' },
  // together-ai 0.52's default (0.49 used https://api.together.xyz/v1).
  defaultBaseURL: 'https://api.together.ai/v1',
  baseHint: "Together's base URL ends in /v1",
  reservedMetadata: [],
  // Unknown statuses read as in_progress (./mapping.ts `togetherStatus`).
  statusMap: TOGETHER_STATUS_MAP,
  options: NO_OPTIONS,
  createAdapter: () => new TogetherAdapter(together.capabilities, providerInfo(together)),
};
