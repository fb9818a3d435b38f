/**
 * xAI: OpenAI-format batch lines uploaded as a file, xAI's own batch objects and paged results
 * (docs/provider-apis-2.md section 8), through the `openai` package's client (./adapter.ts). Batches carry no
 * metadata: the idempotency key is the batch's `name`.
 */
import { NO_OPTIONS, providerInfo, type NoOptions, type ProviderDefinition, type ProviderOptionsSpec } from '../definition';
import { XaiAdapter } from './adapter';
import { XAI_LIMITS } from './limits';

/** xAI has no options of its own: every option of an xAI batch is a common one. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface XaiOptions {}

export const xai: ProviderDefinition<'xai', XaiOptions> = {
  name: 'xai',
  label: 'xAI',
  capabilities: XAI_LIMITS,
  env: { apiKey: 'XAI_API_KEY', baseURL: 'XAI_BASE_URL' },
  defaultBaseURL: 'https://api.x.ai/v1',
  baseHint: "xAI's base URL ends in /v1",
  reservedMetadata: [],
  // No statusMap: xAI has no status names; the status is derived from counts and times (./batch-object.ts).
  options: NO_OPTIONS as ProviderOptionsSpec<NoOptions>,
  createAdapter: () => new XaiAdapter(xai.capabilities, providerInfo(xai)),
};
