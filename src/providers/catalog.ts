/**
 * What each provider can do and the limits it enforces: the one table every other module reads
 * (validation, splitting, the adapters, the sandbox defaults). Pure data, safe anywhere.
 */

export type ProviderName = 'openai' | 'anthropic';

export interface ProviderCapabilities {
  name: ProviderName;
  /** Endpoints accepted in `createBatch(provider, file, endpoint)`. */
  endpoints: readonly string[];
  /** Every request of one provider batch must use the same model. */
  requiresSingleModel: boolean;
  /** Most requests in one provider batch. */
  maxRequestsPerBatch: number;
  /** Most bytes of request data sent for one provider batch. */
  maxBytesPerBatch: number;
  /** Accepted `completion_window` values. */
  completionWindows: readonly string[];
  /** Provider metadata limits on the batch object (pairs, key length, value length), when it has metadata. */
  metadata: { maxPairs: number; maxKeyLength: number; maxValueLength: number } | null;
}

const MB = 1024 * 1024;

export const OPENAI_ENDPOINTS = [
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
] as const;

export const PROVIDERS: Record<ProviderName, ProviderCapabilities> = {
  openai: {
    name: 'openai',
    endpoints: OPENAI_ENDPOINTS,
    requiresSingleModel: true,
    maxRequestsPerBatch: 50_000,
    maxBytesPerBatch: 200 * MB,
    completionWindows: ['24h'],
    metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  },
  anthropic: {
    name: 'anthropic',
    endpoints: ['/v1/chat/completions', '/v1/messages'],
    requiresSingleModel: false,
    maxRequestsPerBatch: 100_000,
    maxBytesPerBatch: 256 * MB,
    completionWindows: ['24h'],
    metadata: null,
  },
};

export function isProviderName(name: string): name is ProviderName {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, name);
}
