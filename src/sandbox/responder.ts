/**
 * The sandbox's stand-in for a model: a deterministic answer to one batch request, so repeated reads of a
 * batch agree and tests can predict outputs. A request asks for an error with `"sandbox_error": <status>`.
 */
import { isPlainObject } from './http';
import { stableHex } from './ids';

export interface RequestOutcome {
  /** HTTP status of the sub-request; 2xx goes to the output file, anything else to the error file. */
  statusCode: number;
  body: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
}

export interface ResponderContext {
  /** Stable per request (batch id and index); ids in the body derive from it. */
  key: string;
  /** Unix seconds at which the request ran. */
  created: number;
}

const DEFAULT_EMBEDDING_DIMENSIONS = 8;
const MAX_EMBEDDING_DIMENSIONS = 3072;

export function respond(endpoint: string, body: Record<string, unknown>, ctx: ResponderContext): RequestOutcome {
  const failure = requestedFailure(body);
  if (failure) return failure;
  switch (endpoint) {
    case '/v1/chat/completions':
      return chatCompletion(body, ctx);
    case '/v1/embeddings':
      return embeddings(body);
    default:
      return echo(endpoint, body, ctx);
  }
}

/** Rough token estimate: about four characters a token, at least one. */
function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function requestedFailure(body: Record<string, unknown>): RequestOutcome | null {
  if (body.sandbox_error !== undefined) {
    const requested = body.sandbox_error;
    const status = typeof requested === 'number' && Number.isInteger(requested) && requested >= 400 && requested <= 599 ? requested : 400;
    return errorOutcome(status, `Sandbox error requested by the batch line (sandbox_error=${JSON.stringify(requested)}).`, errorType(status), 'sandbox_error', null);
  }
  if (typeof body.max_tokens === 'number' && body.max_tokens <= 0) {
    return errorOutcome(
      400,
      `Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got ${body.max_tokens} instead.`,
      'invalid_request_error',
      'max_tokens',
      'integer_below_min_value',
    );
  }
  return null;
}

function errorOutcome(status: number, message: string, type: string, param: string | null, code: string | null): RequestOutcome {
  return { statusCode: status, body: { error: { message, type, param, code } }, inputTokens: 0, outputTokens: 0 };
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function modelOf(body: Record<string, unknown>): string {
  return typeof body.model === 'string' ? body.model : 'sandbox-model';
}

function chatCompletion(body: Record<string, unknown>, ctx: ResponderContext): RequestOutcome {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isPlainObject) : [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const reply = `Sandbox reply to: ${lastUser ? textOf(lastUser.content).slice(0, 60) : ''}`;
  const promptTokens = estimateTokens(messages.map((m) => textOf(m.content)).join('\n'));
  const completionTokens = estimateTokens(reply);
  return {
    statusCode: 200,
    inputTokens: promptTokens,
    outputTokens: completionTokens,
    body: {
      id: `chatcmpl-${stableHex('chat', ctx.key).slice(0, 29)}`,
      object: 'chat.completion',
      created: ctx.created,
      model: modelOf(body),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_sandbox',
    },
  };
}

/** Message content is a string or a list of parts; only text parts count. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isPlainObject)
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .join(' ');
}

function embeddings(body: Record<string, unknown>): RequestOutcome {
  const inputs = embeddingInputs(body.input);
  const requested = body.dimensions;
  const dimensions =
    typeof requested === 'number' && Number.isInteger(requested) && requested >= 1 && requested <= MAX_EMBEDDING_DIMENSIONS
      ? requested
      : DEFAULT_EMBEDDING_DIMENSIONS;
  const promptTokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  return {
    statusCode: 200,
    inputTokens: promptTokens,
    outputTokens: 0,
    body: {
      object: 'list',
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: vectorFor(text, dimensions) })),
      model: modelOf(body),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    },
  };
}

/** `input` is a string, a list of strings, a token list, or a list of token lists. */
function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) return [''];
  if (input.every((x) => typeof x === 'number')) return [input.join(' ')];
  return input.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.join(' ') : ''));
}

/** A unit vector seeded by the text, so equal inputs embed equally. */
function vectorFor(text: string, dimensions: number): number[] {
  let state = parseInt(stableHex('embedding', text).slice(0, 8), 16) >>> 0;
  const raw: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    raw.push(state / 4294967296 - 0.5);
  }
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** Other endpoints get a generic object that echoes the request, enough to join results on `custom_id`. */
function echo(endpoint: string, body: Record<string, unknown>, ctx: ResponderContext): RequestOutcome {
  const inputTokens = estimateTokens(JSON.stringify(body));
  return {
    statusCode: 200,
    inputTokens,
    outputTokens: 0,
    body: {
      id: `sandbox-${stableHex('echo', ctx.key).slice(0, 24)}`,
      object: 'sandbox.echo',
      created: ctx.created,
      model: modelOf(body),
      endpoint,
      request: body,
      usage: { input_tokens: inputTokens, output_tokens: 0, total_tokens: inputTokens },
    },
  };
}
