/** Azure OpenAI Global Batch capabilities and limits (docs/provider-apis-2.md section 10; pure data). */
import type { ProviderCapabilities } from '../capabilities';
import { OPENAI_FAILURE_CODES } from '../capabilities';

const MB = 1024 * 1024;

export const AZURE_OPENAI_ENDPOINTS = ['/v1/chat/completions', '/v1/responses'] as const;

export const AZURE_OPENAI_LIMITS = {
  name: 'azureopenai',
  endpoints: AZURE_OPENAI_ENDPOINTS,
  // `body.model` is the Global-Batch deployment's name, the same on every line.
  requiresSingleModel: true,
  maxRequestsPerBatch: 100_000,
  maxBytesPerBatch: 200 * MB,
  completionWindows: ['24h'],
  // The batch object is OpenAI's; its metadata limits are taken to be OpenAI's too.
  metadata: { maxPairs: 16, maxKeyLength: 64, maxValueLength: 512 },
  // No documented longest result line: anybatch's default bound (64 MiB, DEFAULT_MAX_RESULT_LINE_BYTES in
  // src/results/malformed.ts), far above a chat completion at the largest output limits.
  maxResultLineBytes: 64 * MB,
  failures: OPENAI_FAILURE_CODES,
  pricing: { dataset: 'azure', batchDiscount: { discount: 0.5, source: 'https://learn.microsoft.com/azure/ai-foundry/openai/how-to/batch (50% less than global standard)' } },
} satisfies ProviderCapabilities<'azureopenai'>;
