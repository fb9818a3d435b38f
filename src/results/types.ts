/**
 * What a successful request's response body is, per endpoint, and the typed `BatchResultItem` built on it.
 * Types only, plus small guards that check a body's shape (its `object` field, or its fields where there is
 * none), so a caller can narrow a result whatever the batch. No side effects.
 */
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { Completion } from 'openai/resources/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import type { ModerationCreateResponse } from 'openai/resources/moderations';
import type { Response } from 'openai/resources/responses/responses';
import type { AnybatchBatch } from '../contract/batch';
import { UsageError } from '../errors';
import type { PROVIDERS, ProviderName } from '../providers/catalog';

/**
 * The response body of a successful request, by batch endpoint. `/v1/messages` (Anthropic's native format)
 * holds Anthropic's `Message`; so does an Anthropic `/v1/chat/completions` batch created with
 * `rawResults: true` (read it with `{ endpoint: '/v1/messages' }`).
 */
export interface EndpointResult {
  '/v1/chat/completions': ChatCompletion;
  '/v1/embeddings': CreateEmbeddingResponse;
  '/v1/responses': Response;
  '/v1/completions': Completion;
  '/v1/moderations': ModerationCreateResponse;
  '/v1/messages': Message;
}

/** Every endpoint a batch can have. */
export type Endpoint = keyof EndpointResult;

/** The endpoints each provider takes (from its `limits.ts`, through src/providers/catalog.ts). */
export type ProviderEndpoints = { [P in ProviderName]: (typeof PROVIDERS)[P]['endpoints'][number] };

/** The endpoints of provider `P` (every endpoint for `null`, i.e. any provider). */
export type EndpointOf<P extends ProviderName | null> = P extends ProviderName ? ProviderEndpoints[P] : Endpoint;

/** One request's outcome, as in any-llm's `BatchResultItem`. */
export interface BatchResultItem<E extends Endpoint = Endpoint> {
  custom_id: string;
  /** The endpoint's response body (e.g. a `chat.completion`) for a successful request, else null. */
  result: EndpointResult[E] | null;
  error: { code: string; message: string } | null;
}

export interface BatchResult<E extends Endpoint = Endpoint> {
  results: BatchResultItem<E>[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SHAPES: { [E in Endpoint]: (body: Record<string, unknown>) => boolean } = {
  '/v1/chat/completions': (b) => b.object === 'chat.completion' && Array.isArray(b.choices),
  '/v1/embeddings': (b) => b.object === 'list' && Array.isArray(b.data) && b.data.every((d) => isObject(d) && d.object === 'embedding'),
  '/v1/responses': (b) => b.object === 'response',
  '/v1/completions': (b) => b.object === 'text_completion' && Array.isArray(b.choices),
  '/v1/moderations': (b) =>
    typeof b.id === 'string' && Array.isArray(b.results) && b.results.every((r) => isObject(r) && typeof r.flagged === 'boolean' && isObject(r.categories)),
  '/v1/messages': (b) => b.type === 'message' && b.role === 'assistant' && Array.isArray(b.content),
};

/** Every endpoint, at runtime. */
export const ENDPOINTS = Object.keys(SHAPES) as readonly Endpoint[];

export function isEndpoint(value: unknown): value is Endpoint {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(SHAPES, value);
}

/** Whether `body` has the shape of `endpoint`'s response body (`chat.completion`, an embedding `list`, ...). */
export function isEndpointResult<E extends Endpoint>(body: unknown, endpoint: E): body is EndpointResult[E] {
  if (!isEndpoint(endpoint)) return false;
  return isObject(body) && SHAPES[endpoint](body);
}

/** Whether `item` succeeded with a body of `endpoint`'s shape; narrows `item.result`. */
export function isResultOf<I extends { result: unknown }, E extends Endpoint>(item: I, endpoint: E): item is I & { result: EndpointResult[E] } {
  return isEndpointResult(item.result, endpoint);
}

/**
 * `item.result` typed as `endpoint`'s response body, or null when the request failed or its body is of another
 * shape: `resultAs(item, '/v1/chat/completions')?.choices[0].message.content`.
 */
export function resultAs<E extends Endpoint>(item: { result: unknown }, endpoint: E): EndpointResult[E] | null {
  return isEndpointResult(item.result, endpoint) ? item.result : null;
}

/**
 * Checks that `batch`'s results are bodies of `endpoint` and returns a per-item check. The endpoint must be the
 * batch's; an Anthropic `/v1/chat/completions` batch may also be read as `/v1/messages` (its bodies are
 * Anthropic `Message`s when it was created with `rawResults: true`). Anthropic bodies are made by anybatch, so
 * each is checked too: reading raw results as chat.completions (or the reverse) is a `UsageError` saying which.
 */
export function resultsEndpointCheck<E extends Endpoint>(batch: AnybatchBatch, endpoint: E): (item: { custom_id: string; result: unknown }) => void {
  const anthropicChat = batch.anybatch.provider === 'anthropic' && batch.endpoint === '/v1/chat/completions';
  if (endpoint !== batch.endpoint && !(anthropicChat && endpoint === '/v1/messages')) {
    throw new UsageError(`Batch ${batch.id} has endpoint ${batch.endpoint}, not ${endpoint}: read its results with { endpoint: '${batch.endpoint}' }.`);
  }
  if (!anthropicChat) return () => {};
  return (item) => {
    if (item.result === null || isEndpointResult(item.result, endpoint)) return;
    const raw = isEndpointResult(item.result, '/v1/messages');
    throw new UsageError(
      raw
        ? `Batch ${batch.id} holds Anthropic Messages (it was created with rawResults: true): read its results with { endpoint: '/v1/messages' }.`
        : `Batch ${batch.id} holds chat.completions (result of ${item.custom_id}): read its results with { endpoint: '/v1/chat/completions' }.`,
    );
  };
}
