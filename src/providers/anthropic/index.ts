/**
 * Anthropic's Message Batches: OpenAI chat requests translated (./mapping.ts), native `{custom_id, params}` lines
 * for `/v1/messages` passed through, results mapped back to OpenAI lines (./adapter.ts). Message Batches carry no
 * metadata, so idempotency is a create marker in the part's work folder and a per-part tag on every custom_id (the
 * proof that a batch found after a lost answer is the part's own: see ./adapter.ts), not a reserved metadata key.
 */
import { providerInfo, type ProviderDefinition } from '../definition';
import { AnthropicAdapter } from './adapter';
import { ANTHROPIC_STATUS_MAP } from './batch-object';
import { ANTHROPIC_LIMITS } from './limits';
import { ANTHROPIC_OPTION_NAMES, parseAnthropicOptions, type AnthropicOptions } from './options';

export type { AnthropicOptions } from './options';

export const anthropic: ProviderDefinition<'anthropic', AnthropicOptions> = {
  name: 'anthropic',
  label: 'Anthropic',
  capabilities: ANTHROPIC_LIMITS,
  env: { apiKey: 'ANTHROPIC_API_KEY', baseURL: 'ANTHROPIC_BASE_URL' },
  defaultBaseURL: 'https://api.anthropic.com',
  baseHint: "Anthropic's base URL has no /v1",
  reservedMetadata: [],
  statusMap: ANTHROPIC_STATUS_MAP,
  options: { names: ANTHROPIC_OPTION_NAMES, parse: parseAnthropicOptions },
  createAdapter: () => new AnthropicAdapter(anthropic.capabilities, providerInfo(anthropic)),
};
