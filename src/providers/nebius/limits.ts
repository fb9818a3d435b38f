/**
 * Nebius Token Factory's (formerly AI Studio) batch capabilities and limits (pure data), from its batch guide
 * (https://docs.tokenfactory.nebius.com/ai-models-inference/batch-inference; provider-apis-3.md section 3): OpenAI's
 * Files and Batches APIs, lines to `/v1/chat/completions` or `/v1/embeddings`, one model per file, up to 5,000,000
 * requests and 10 GB per file, up to 500 batches, a `24h` window only.
 */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const NEBIUS_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;

export const NEBIUS_LIMITS = {
  name: 'nebius',
  endpoints: NEBIUS_ENDPOINTS,
  // "The ID should be the same across the file."
  requiresSingleModel: true,
  maxRequestsPerBatch: 5_000_000,
  // "Up to 10 GB in size", read as decimal gigabytes (the smaller reading).
  maxBytesPerBatch: 10 * 1000 ** 3,
  completionWindows: ['24h'],
  // The batch object is OpenAI's; its metadata limits are taken to be OpenAI's too.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // "You can create up to 500 batches", read as batches not yet ended [inferred].
  admission: { batches: 500, perModel: false, source: 'up to 500 batches (docs.tokenfactory.nebius.com batch inference), read as batches not yet ended' },
  // Embeddings are served: OpenAI's bound for a line of many vectors, as for OpenAI.
  maxResultLineBytes: 256 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: null, noPrices: 'not in the dataset', batchDiscount: { discount: 0.5, source: 'https://docs.tokenfactory.nebius.com/ai-models-inference/batch-inference (batches cost 50% less than regular requests to base models)' } },
} satisfies ProviderCapabilities<'nebius'>;
