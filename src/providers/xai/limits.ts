/**
 * xAI's batch capabilities and limits (docs/provider-apis-2.md section 8; pure data: the catalog and the sandbox
 * read it).
 *
 * Documented by xAI: at most 25 MB per add call, one batch created per second per team, no hard request cap
 * ("more than 100k may be throttled"). Not documented, so chosen here: one provider batch holds at most 100,000
 * requests and 25 MB of input (the upload is treated like one add call, which keeps every batch well inside what
 * xAI documents); mixed models are not refused (xAI documents no one-model rule).
 */
import type { ProviderCapabilities } from '../capabilities';
import { CREATE_ONLY_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

/** OpenAI-format lines; section 8 names `/v1/responses` and `/v1/chat/completions` as line urls. */
export const XAI_ENDPOINTS = ['/v1/chat/completions', '/v1/responses'] as const;

export const XAI_LIMITS = {
  name: 'xai',
  endpoints: XAI_ENDPOINTS,
  requiresSingleModel: false,
  maxRequestsPerBatch: 100_000,
  maxBytesPerBatch: 25 * MB,
  // xAI batches have no completion window parameter; they are "typically done within 24 h".
  completionWindows: ['24h'],
  // xAI batch objects carry no metadata (the idempotency key travels in `name`).
  metadata: null,
  // Results come as pages of JSON (GET /batches/{id}/results), not as a JSONL file, so no line bound applies
  // today; anybatch's 64 MiB default is stated for a results file, should one be read.
  maxResultLineBytes: 64 * MB,
  failures: CREATE_ONLY_FAILURE_CODES,
  pricing: { dataset: 'x-ai', batchDiscount: { discount: 0.5, source: 'https://docs.x.ai/docs/guides/batch-api (batch requests billed at a reduced rate: 50% on current models, less on some)' } },
} satisfies ProviderCapabilities<'xai'>;
