/** Gemini Developer API batch capabilities and limits (provider-apis-2.md section 3; pure data). */
import type { ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';
import { GEMINI_MAX_FILE_BYTES, GEMINI_REQUIRES_SINGLE_MODEL } from './batch-lines';

export const GEMINI_ENDPOINTS = ['/v1/chat/completions'] as const;

export const GEMINI_LIMITS = {
  name: 'gemini',
  endpoints: GEMINI_ENDPOINTS,
  // The model is in the create path (`models/{model}:batchGenerateContent`): one per batch.
  requiresSingleModel: GEMINI_REQUIRES_SINGLE_MODEL,
  // Google documents no request count per batch; this bound keeps a part's results and stats manageable.
  maxRequestsPerBatch: 100_000,
  // Measured after translation. Under the inline limit (20 MB) requests go inline; above it, as an uploaded file (2 GB).
  maxBytesPerBatch: GEMINI_MAX_FILE_BYTES,
  // Batches have a 24 h target (and expire after 48 h pending or running).
  completionWindows: ['24h'],
  // A Gemini batch has a displayName (anybatch's idempotency key goes there), no metadata.
  metadata: null,
  admission: { batches: 100, perModel: false, source: 'concurrent batch limit (ai.google.dev batch API rate limits)' },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * 1024 * 1024,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: { dataset: 'google', batchDiscount: { discount: 0.5, cachedDiscount: 0, source: 'https://ai.google.dev/gemini-api/docs/batch-mode (50% of the standard cost; cached tokens at the cache price, the discounts do not stack)' }, modelAliases: [[/^models\//, '']] },
} satisfies ProviderCapabilities<'gemini'>;
