/**
 * Alibaba Model Studio's (DashScope, OpenAI-compatible mode) batch capabilities and limits (pure data), from its
 * batch guides (https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai and
 * https://docs.qwencloud.com/developer-guides/text-generation/batch; provider-apis-3.md section 3): up to 50,000
 * requests and 500 MB per file (6 MB per line), one model per file, a `completion_window` from `24h` to `336h`
 * (14 days), embeddings in the Beijing region. Batch calls cost 50% of real-time ones.
 */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const DASHSCOPE_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;

/** `24h` to `336h`: the whole days of that range (the guide takes any whole hours between; these are offered). */
export const DASHSCOPE_WINDOWS = Array.from({ length: 14 }, (_, i) => `${24 * (i + 1)}h`);

export const DASHSCOPE_LIMITS = {
  name: 'dashscope',
  endpoints: DASHSCOPE_ENDPOINTS,
  // "All requests must use the same model."
  requiresSingleModel: true,
  maxRequestsPerBatch: 50_000,
  maxBytesPerBatch: 500 * MB,
  completionWindows: DASHSCOPE_WINDOWS,
  // The batch object is OpenAI's; its metadata limits are taken to be OpenAI's too (`ds_name`, `ds_description` are
  // its own optional keys).
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // Embeddings are served: OpenAI's bound for a line of many vectors, as for OpenAI.
  maxResultLineBytes: 256 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: null, noPrices: 'not in the dataset', batchDiscount: { discount: 0.5, source: 'https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai (50% of the cost of real-time calls)' } },
} satisfies ProviderCapabilities<'dashscope'>;
