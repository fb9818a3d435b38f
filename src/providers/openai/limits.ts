/** OpenAI's batch capabilities and limits (pure data: the catalog and the sandbox read it). */
import type { ProviderCapabilities } from '../catalog';

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
} satisfies ProviderCapabilities<'openai'>;
