/** OpenAI's batch capabilities and limits (pure data: the catalog and the sandbox read it). */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const OPENAI_ENDPOINTS = [
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
] as const;

export const OPENAI_LIMITS = {
  name: 'openai',
  endpoints: OPENAI_ENDPOINTS,
  requiresSingleModel: true,
  maxRequestsPerBatch: 50_000,
  maxBytesPerBatch: 200 * MB,
  completionWindows: ['24h'],
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // No documented longest result line. An embeddings line may hold 2,048 inputs of 3,072 floats written as JSON
  // text (about 150 MB), so the bound sits above that rather than at the 64 MiB default.
  maxResultLineBytes: 256 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: 'openai', batchDiscount: { discount: 0.5, source: 'https://platform.openai.com/docs/guides/batch (50% lower costs)' } },
} satisfies ProviderCapabilities<'openai'>;
