/**
 * Cerebras's batch capabilities and limits (pure data; the batch API is in Private Preview), from its batch pages
 * (https://inference-docs.cerebras.ai/capabilities/batch, /api-reference/batch/create-batch, .../cancel-batch;
 * provider-apis-3.md section 3): files with `purpose: "batch"`, lines to `/v1/chat/completions` only, a `24h`
 * window only, at most 200 MB and 50,000 requests per file and at least 10. Its differences from OpenAI's API (a
 * `DELETE` cancel, a `queued` status) are in ./index.ts.
 */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const CEREBRAS_ENDPOINTS = ['/v1/chat/completions'] as const;

export const CEREBRAS_LIMITS = {
  name: 'cerebras',
  endpoints: CEREBRAS_ENDPOINTS,
  // Cerebras does not say a batch must hold one model, so mixed models are not refused.
  requiresSingleModel: false,
  maxRequestsPerBatch: 50_000,
  // "Minimum 10 requests": a smaller batch is refused before anything starts, and no part is cut smaller.
  minRequestsPerBatch: 10,
  maxBytesPerBatch: 200 * MB,
  completionWindows: ['24h'],
  // Its metadata also holds lists of strings (`custom_tags`); anybatch writes strings, within OpenAI's limits.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: 'cerebras', batchDiscount: { discount: 0.5, source: 'https://inference-docs.cerebras.ai/capabilities/batch (50% off regular pricing)' } },
} satisfies ProviderCapabilities<'cerebras'>;
