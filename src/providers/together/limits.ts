/**
 * Together's batch capabilities and limits (docs/provider-apis-2.md section 6, docs.together.ai "Batch
 * inference"; pure data: the catalog and the sandbox read it).
 *
 * Documented by Together: up to 50,000 requests per batch, up to 100 MB per input file, 30B tokens enqueued per
 * model, a `custom_id` of at most 64 characters, and a completion window that "defaults to 24h and cannot be
 * changed" (a best-effort target, not a deadline anybatch can choose).
 */
import type { CustomIdRule, ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

/**
 * Chat completions only. Together batches also take `/v1/audio/transcriptions` and `/v1/audio/translations`,
 * but those lines point at audio files (multipart requests in the synchronous API), not JSONL chat bodies, and
 * anybatch has no result types for them (src/results/types.ts).
 */
export const TOGETHER_ENDPOINTS = ['/v1/chat/completions'] as const;

/**
 * Together's limit on `custom_id`: 64 characters (docs.together.ai batch limits; any characters). A longer id is
 * the user's all the same: the adapter sends a stand-in (src/providers/custom-ids.ts) and maps it back in the
 * results.
 */
export const TOGETHER_CUSTOM_IDS = { maxLength: 64 } as const satisfies CustomIdRule;

export const TOGETHER_LIMITS = {
  name: 'together',
  endpoints: TOGETHER_ENDPOINTS,
  // A Together job has one `model_id`: the lines must name one model, which is also sent at job level.
  requiresSingleModel: true,
  maxRequestsPerBatch: 50_000,
  // The upload limit, counted on the translated `{custom_id, body}` lines (the adapter's `sentBytes`).
  maxBytesPerBatch: 100 * MB,
  completionWindows: ['24h'],
  // Together batch jobs carry no metadata: the idempotency key travels in the input file's name.
  metadata: null,
  customIds: TOGETHER_CUSTOM_IDS,
  admission: { enqueuedTokens: 30_000_000_000, perModel: true, source: 'tokens enqueued per model (docs.together.ai batch limits)' },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: { dataset: 'together', batchDiscount: { discount: 0.5, source: 'https://docs.together.ai/docs/batch-inference (up to 50% off serverless rates, on selected models)' } },
} satisfies ProviderCapabilities<'together'>;
