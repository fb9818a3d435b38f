/**
 * Moonshot's (Kimi) batch capabilities and limits (pure data), from its Batch API pages
 * (https://platform.kimi.ai/docs/api/batch-create, /docs/guide/use-batch-api; provider-apis-3.md section 3): OpenAI's
 * Files and Batches APIs with a cursor list (`after`, `has_more`), lines to `/v1/chat/completions` only, one model
 * per file, files of at most 100 MB, a `completion_window` from `12h` to `7d`, metadata of 16 pairs (keys of at most
 * 64 characters, values of 512).
 */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const MOONSHOT_ENDPOINTS = ['/v1/chat/completions'] as const;

/** `12h` to `7d` (its guide names `12h`, `1d`, `3d`): 24h first, as the default, then 12h and whole days. */
export const MOONSHOT_WINDOWS = ['24h', '12h', '48h', '72h', '96h', '120h', '144h', '168h', '1d', '2d', '3d', '4d', '5d', '6d', '7d'];

export const MOONSHOT_LIMITS = {
  name: 'moonshot',
  endpoints: MOONSHOT_ENDPOINTS,
  // "All requests in a batch must use the same model."
  requiresSingleModel: true,
  // No documented request limit: OpenAI's.
  maxRequestsPerBatch: 50_000,
  maxBytesPerBatch: 100 * MB,
  completionWindows: MOONSHOT_WINDOWS,
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: 'moonshotai', batchDiscount: { discount: 0, source: 'https://platform.kimi.ai/docs/guide/use-batch-api (no batch discount documented: standard prices, an overestimate if one applies)' } },
} satisfies ProviderCapabilities<'moonshot'>;
