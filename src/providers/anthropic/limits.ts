/** Anthropic's Message Batches capabilities and limits (pure data: the catalog and the sandbox read it). */
import type { CustomIdRule, ProviderCapabilities } from '../capabilities';

const MB = 1024 * 1024;

/** Anthropic's custom_ids: `^[a-zA-Z0-9_-]{1,64}$`; others are remapped by the adapter (../custom-ids.ts). */
export const ANTHROPIC_CUSTOM_IDS = { maxLength: 64, characters: 'a-zA-Z0-9_-' } as const satisfies CustomIdRule;

export const ANTHROPIC_ENDPOINTS = ['/v1/chat/completions', '/v1/messages'] as const;

export const ANTHROPIC_LIMITS = {
  name: 'anthropic',
  endpoints: ANTHROPIC_ENDPOINTS,
  requiresSingleModel: false,
  maxRequestsPerBatch: 100_000,
  // Measured on the create body, after translation.
  maxBytesPerBatch: 256 * MB,
  completionWindows: ['24h'],
  // Message Batches carry no metadata.
  metadata: null,
  // `/v1/messages` input is Anthropic's own line, passed through.
  nativeLines: { '/v1/messages': { payload: 'params', envelope: false, shape: '{"custom_id", "params"}' } },
  customIds: ANTHROPIC_CUSTOM_IDS,
  admission: { requests: 100_000, perModel: false, source: 'Message Batches queue limit of Tier 1 (docs.anthropic.com rate limits)' },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: { queueLimit: [], tooLarge: [], tooLargeMessages: ['request_too_large', 'too large', 'too many requests', 'more than the maximum', 'exceeds the maximum'] },
  pricing: { dataset: 'anthropic', batchDiscount: { discount: 0.5, source: 'https://docs.anthropic.com/en/docs/build-with-claude/batch-processing (50% of standard prices)' } },
} satisfies ProviderCapabilities<'anthropic'>;
