/** Groq's batch capabilities and limits (docs/provider-apis-2.md section 7; pure data). */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const GROQ_ENDPOINTS = ['/v1/chat/completions'] as const;

export const GROQ_LIMITS = {
  name: 'groq',
  endpoints: GROQ_ENDPOINTS,
  // Groq does not say a batch must hold one model, so mixed models are not refused.
  requiresSingleModel: false,
  maxRequestsPerBatch: 50_000,
  maxBytesPerBatch: 100 * MB,
  // "24h" to "7d", in whole days.
  completionWindows: ['24h', '48h', '72h', '96h', '120h', '144h', '168h', '1d', '2d', '3d', '4d', '5d', '6d', '7d'],
  // The batch object is OpenAI's; its metadata limits are taken to be OpenAI's too.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: 'groq', batchDiscount: { discount: 0.5, source: 'https://console.groq.com/docs/batch (50% lower cost)' } },
} satisfies ProviderCapabilities<'groq'>;
