/**
 * `openai-compatible`: any server speaking OpenAI's chat completions or embeddings but with no batch API (vLLM,
 * Ollama, LM Studio, DeepSeek, OpenRouter, Cerebras, ...). The same JSONL runs through the online endpoint, one
 * request at a time within the server's RPM / TPM limits and a concurrency cap, with durable progress: see
 * ./adapter.ts, src/online/host.ts, src/workflows/online.ts and src/activities/online.ts. Base URL and key are
 * required.
 */
import type { ProviderDefinition } from '../definition';
import { OnlineAdapter } from './adapter';
import { BASE_ENV, KEY_ENV, LABEL } from './http';
import { OPENAI_COMPATIBLE_LIMITS } from './limits';
import { OPENAI_COMPATIBLE_OPTION_NAMES, parseOpenAICompatibleOptions, type OpenAICompatibleOptions } from './options';

export type { OpenAICompatibleOptions } from './options';

export const openaiCompatible: ProviderDefinition<'openai-compatible', OpenAICompatibleOptions> = {
  name: 'openai-compatible',
  label: LABEL,
  capabilities: OPENAI_COMPATIBLE_LIMITS,
  env: { apiKey: KEY_ENV, baseURL: BASE_ENV },
  // Every server has its own.
  defaultBaseURL: null,
  baseHint: 'OpenAI-compatible base URLs end in /v1 (e.g. http://localhost:8000/v1)',
  reservedMetadata: [],
  options: { names: OPENAI_COMPATIBLE_OPTION_NAMES, parse: parseOpenAICompatibleOptions },
  createAdapter: () => new OnlineAdapter(OPENAI_COMPATIBLE_LIMITS),
};
