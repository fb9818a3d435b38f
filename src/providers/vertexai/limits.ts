/**
 * Vertex AI batch prediction's capabilities and limits (pure data), from provider-apis-3.md section 2: Gemini models
 * (`publishers/google/models/<m>`) and Claude (`publishers/anthropic/models/claude-*`), one model per job, input and output as JSONL in Cloud Storage, up to 200,000
 * requests a job and input files up to 1 GB (Vertex's batch prediction quotas for Gemini). A job has labels (Google's
 * label rules: 64 labels, keys and values of 63 characters), which are anybatch's metadata here.
 */
import type { ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const VERTEX_ENDPOINTS = ['/v1/chat/completions'] as const;

export const VERTEX_LIMITS = {
  name: 'vertexai',
  endpoints: VERTEX_ENDPOINTS,
  requiresSingleModel: true,
  maxRequestsPerBatch: 200_000,
  maxBytesPerBatch: 1024 * MB,
  completionWindows: ['24h'],
  metadata: { maxPairs: 60, maxKeyLength: 63, maxValueLength: 63 },
  // Requests carry anybatch's own ids (`request.labels.anybatch_request`, `r` and ten digits, in line order), so a
  // user's custom_ids never reach Vertex and none is refused or remapped for its label rules.
  maxResultLineBytes: 64 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: {
    dataset: 'google',
    batchDiscount: { discount: 0.5, source: 'https://cloud.google.com/vertex-ai/generative-ai/pricing (batch prediction at a 50% discount)' },
    modelAliases: [[/^(publishers\/google\/)?models\//, '']],
  },
} satisfies ProviderCapabilities<'vertexai'>;
