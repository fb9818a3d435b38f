/**
 * Type-level tests of the public API, compiled by `npm run typecheck` (never run: every check is inside a
 * function that nothing calls). Each `@ts-expect-error` must find an error, or the compile fails.
 */
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { Response } from 'openai/resources/responses/responses';
import {
  cancelBatch,
  createBatch,
  isResultOf,
  iterateBatchResults,
  listBatches,
  resultAs,
  retrieveBatch,
  retrieveBatchResults,
  waitForBatch,
} from '../../src';
import type { CerebrasOptions } from '../../src/providers/cerebras';
import type { BedrockOptions } from '../../src/providers/bedrock';
import type { VertexOptions } from '../../src/providers/vertexai';
import type { DashScopeOptions } from '../../src/providers/dashscope';
import type { MoonshotOptions } from '../../src/providers/moonshot';
import type { NebiusOptions } from '../../src/providers/nebius';
import type {
  AnybatchBatch,
  AzureOpenAIOptions,
  BatchResultItem,
  CreateBatchOptions,
  EndpointResult,
  GeminiOptions,
  GroqOptions,
  MistralOptions,
  OpenAIOptions,
  XaiOptions,
  AnthropicOptions,
  ProviderName,
  ProviderOptions,
} from '../../src';
import type { REGISTRY } from '../../src/providers/registry';
import type { OpenAICompatibleOptions } from '../../src/providers/openai-compatible';
import type { TogetherOptions } from '../../src/providers/together';

/** `Equal<A, B>` is `true` only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_ok?: T): void {}

export async function options(): Promise<void> {
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { pollInterval: '1s', metadata: { job: 'x' }, retryTimeout: '5m' });
  await createBatch('anthropic', 'in.jsonl', '/v1/chat/completions', { defaultMaxTokens: 1000, responseFormat: 'reject', rawResults: true });

  // @ts-expect-error a misspelt option is an error, not a silent default
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { pollIntervall: '1s' });
  // @ts-expect-error so is a misspelt metadata
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { metdata: { job: 'x' } });
  // @ts-expect-error an Anthropic option on openai
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { defaultMaxTokens: 1000 });
  // @ts-expect-error responseFormat takes 'native' or 'reject'
  await createBatch('anthropic', 'in.jsonl', '/v1/chat/completions', { responseFormat: 'json' });
  // @ts-expect-error metadata holds strings
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { metadata: { n: 1 } });
  // @ts-expect-error an unknown provider name
  await createBatch('openia', 'in.jsonl', '/v1/chat/completions');
  // @ts-expect-error an endpoint the provider does not take
  await createBatch('anthropic', 'in.jsonl', '/v1/embeddings');

  const anthropicOptions: CreateBatchOptions<'anthropic'> = { rawResults: true, apiKey: 'k' };
  // @ts-expect-error CreateBatchOptions<'openai'> has no Anthropic options
  const openaiOptions: CreateBatchOptions<'openai'> = { rawResults: true };
  void anthropicOptions;
  void openaiOptions;
}

export async function registry(): Promise<void> {
  // The provider names are the registry's keys, and each provider's options type comes from its definition.
  assertType<Equal<ProviderName, keyof typeof REGISTRY>>();
  assertType<
    Equal<ProviderName, 'openai' | 'anthropic' | 'azureopenai' | 'groq' | 'xai' | 'gemini' | 'mistral' | 'together' | 'nebius' | 'dashscope' | 'moonshot' | 'cerebras' | 'bedrock' | 'vertexai' | 'openai-compatible'>
  >();
  assertType<
    Equal<
      ProviderOptions,
      {
        openai: OpenAIOptions;
        anthropic: AnthropicOptions;
        azureopenai: AzureOpenAIOptions;
        groq: GroqOptions;
        xai: XaiOptions;
        gemini: GeminiOptions;
        mistral: MistralOptions;
        together: TogetherOptions;
        nebius: NebiusOptions;
        dashscope: DashScopeOptions;
        moonshot: MoonshotOptions;
        cerebras: CerebrasOptions;
        bedrock: BedrockOptions;
        vertexai: VertexOptions;
        'openai-compatible': OpenAICompatibleOptions;
      }
    >
  >();

  await createBatch('groq', 'in.jsonl', '/v1/chat/completions', { completionWindow: '7d', apiBase: 'https://api.groq.com' });
  await createBatch('azureopenai', 'in.jsonl', '/v1/chat/completions', { apiVersion: '2025-03-01-preview' });
  await createBatch('azureopenai', 'in.jsonl', '/v1/responses');
  const azureOptions: CreateBatchOptions<'azureopenai'> = { apiVersion: '2024-10-21', apiKey: 'k' };
  void azureOptions;

  // @ts-expect-error apiVersion is an option of azureopenai, not groq
  await createBatch('groq', 'in.jsonl', '/v1/chat/completions', { apiVersion: '2024-10-21' });
  // @ts-expect-error nor of openai
  await createBatch('openai', 'in.jsonl', '/v1/chat/completions', { apiVersion: '2024-10-21' });
  // @ts-expect-error apiVersion is a string
  await createBatch('azureopenai', 'in.jsonl', '/v1/chat/completions', { apiVersion: 20241021 });
  // @ts-expect-error an Anthropic option on azureopenai
  await createBatch('azureopenai', 'in.jsonl', '/v1/chat/completions', { rawResults: true });
  // @ts-expect-error groq batches only chat completions
  await createBatch('groq', 'in.jsonl', '/v1/embeddings');
  // @ts-expect-error azureopenai has no /v1/messages
  await createBatch('azureopenai', 'in.jsonl', '/v1/messages');

  const groqResults = await retrieveBatchResults('groq', 'ab_1');
  assertType<Equal<(typeof groqResults.results)[number]['result'], ChatCompletion | null>>();
  const azureResults = await retrieveBatchResults('azureopenai', 'ab_1');
  assertType<Equal<(typeof azureResults.results)[number]['result'], ChatCompletion | Response | null>>();
}

export async function providers(someProvider: ProviderName, someString: string): Promise<void> {
  await retrieveBatch(someProvider, 'ab_1');
  await cancelBatch(null, 'ab_1', { wait: true });
  await listBatches(null, { limit: 5 });
  // @ts-expect-error an unknown provider name
  await retrieveBatch('openia', 'ab_1');
  // @ts-expect-error an unknown provider name
  await listBatches('openia');
  // @ts-expect-error an unknown provider name
  await cancelBatch('openia', 'ab_1');
  // @ts-expect-error a plain string is not a provider name
  await retrieveBatchResults(someString, 'ab_1');
  // @ts-expect-error an unknown provider name
  await waitForBatch('openia', 'ab_1');
}

export async function results(): Promise<void> {
  const chat = await retrieveBatchResults('openai', 'ab_1', { endpoint: '/v1/chat/completions' });
  assertType<Equal<typeof chat.results, BatchResultItem<'/v1/chat/completions'>[]>>();
  assertType<Equal<(typeof chat.results)[number]['result'], ChatCompletion | null>>();
  const content: string | null | undefined = chat.results[0].result?.choices[0].message.content;
  void content;

  for await (const item of iterateBatchResults('openai', 'ab_1', { endpoint: '/v1/embeddings' })) {
    assertType<Equal<typeof item.result, CreateEmbeddingResponse | null>>();
  }
  for await (const item of iterateBatchResults('anthropic', 'ab_1', { endpoint: '/v1/messages' })) {
    assertType<Equal<typeof item.result, Message | null>>();
  }
  // @ts-expect-error openai has no /v1/messages endpoint
  await retrieveBatchResults('openai', 'ab_1', { endpoint: '/v1/messages' });

  // Without an endpoint, a result is any of the provider's bodies (every endpoint's for null).
  const anthropicAll = await retrieveBatchResults('anthropic', 'ab_1');
  assertType<Equal<(typeof anthropicAll.results)[number]['result'], ChatCompletion | Message | null>>();
  const all = await retrieveBatchResults(null, 'ab_1');
  const item = all.results[0];
  assertType<Equal<typeof item.result, EndpointResult[keyof EndpointResult] | null>>();

  // Narrowing helpers.
  const completion = resultAs(item, '/v1/chat/completions');
  assertType<Equal<typeof completion, ChatCompletion | null>>();
  const response = resultAs(item, '/v1/responses');
  assertType<Equal<typeof response, Response | null>>();
  if (isResultOf(item, '/v1/embeddings')) {
    const vector: number[] = item.result.data[0].embedding;
    void vector;
  }
  // @ts-expect-error not an endpoint
  resultAs(item, '/v1/chat');
}

export async function waiting(signal: AbortSignal): Promise<AnybatchBatch> {
  const done: AnybatchBatch = await waitForBatch('openai', 'ab_1', {
    interval: '2s',
    timeout: 60_000,
    signal,
    onProgress: (b) => void b.anybatch.retrying?.step,
    taskQueue: 'anybatch',
  });
  // @ts-expect-error a misspelt option
  await waitForBatch('openai', 'ab_1', { intervall: '2s' });
  return done;
}
