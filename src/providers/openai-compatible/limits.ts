/**
 * The `openai-compatible` provider's capabilities (pure data). It has no batch API: each part is run through the
 * online endpoint by an online batch workflow, so the per-part limits are anybatch's own (a part's results are
 * checkpointed by request index), not a server's.
 */
import type { ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const OPENAI_COMPATIBLE_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;

export const OPENAI_COMPATIBLE_LIMITS = {
  name: 'openai-compatible',
  endpoints: OPENAI_COMPATIBLE_ENDPOINTS,
  // Each request goes on its own: a server serving several models takes them mixed.
  requiresSingleModel: false,
  maxRequestsPerBatch: 50_000,
  maxBytesPerBatch: 200 * MB,
  // Online batches do not expire; the window is kept only for the batch object.
  completionWindows: ['24h'],
  // Metadata stays on anybatch's own batch object; OpenAI's limits keep it portable.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // The lines read back are anybatch's own checkpoint chunks (one response each, already held in memory once);
  // with embeddings served, the bound is OpenAI's 256 MiB rather than the 64 MiB default.
  maxResultLineBytes: 256 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  // Any server speaking OpenAI's API (vLLM, Ollama, DeepSeek, OpenRouter, ...): who serves it, and so the price, is not
  // known; it has no batch API (its requests are sent online, at standard prices).
  pricing: { dataset: null, noPrices: 'the server may be self-hosted, or any vendor', batchDiscount: null },
} satisfies ProviderCapabilities<'openai-compatible'>;
