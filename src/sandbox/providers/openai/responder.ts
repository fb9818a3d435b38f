/**
 * The stand-in model's answer to one OpenAI batch request, in OpenAI's response bodies (`chat.completion`,
 * embeddings, an echo for the rest). A request asks for an error with `"sandbox_error": <status>`.
 */
import { isPlainObject } from '../../kernel/http';
import { stableHex } from '../../kernel/ids';
import { countTokens, embeddingFor, replyTo, requestedStatus } from '../../kernel/model';

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

/**
 * The prompt tokens of one request as the stand-in model counts them, whether or not the request succeeds:
 * chat completions ceil(characters / 4) of the messages' text joined by newlines (text parts only), embeddings
 * the sum over the inputs, any other endpoint the whole body as JSON. Successful requests report these as
 * their `prompt_tokens` / `input_tokens`; the enqueued token limit counts them.
 */
export function promptTokens(endpoint: string, body: Record<string, unknown>): number {
  switch (endpoint) {
    case '/v1/chat/completions':
      return countTokens(chatMessages(body).map((m) => textOf(m.content)).join('\n'));
    case '/v1/embeddings':
      return embeddingInputs(body.input).reduce((sum, text) => sum + countTokens(text), 0);
    default:
      return countTokens(JSON.stringify(body));
  }
}

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

function requestedFailure(body: Record<string, unknown>): RequestOutcome | null {
  if (body.sandbox_error !== undefined) {
    const requested = body.sandbox_error;
    const status = requestedStatus(requested);
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
  const messages = chatMessages(body);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const reply = replyTo(lastUser ? textOf(lastUser.content) : '');
  const inputTokens = promptTokens('/v1/chat/completions', body);
  const completionTokens = countTokens(reply);
  return {
    statusCode: 200,
    inputTokens,
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
        prompt_tokens: inputTokens,
        completion_tokens: completionTokens,
        total_tokens: inputTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_sandbox',
    },
  };
}

function chatMessages(body: Record<string, unknown>): Array<Record<string, unknown>> {
  return Array.isArray(body.messages) ? body.messages.filter(isPlainObject) : [];
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
  const inputTokens = promptTokens('/v1/embeddings', body);
  return {
    statusCode: 200,
    inputTokens,
    outputTokens: 0,
    body: {
      object: 'list',
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: embeddingFor(text, dimensions) })),
      model: modelOf(body),
      usage: { prompt_tokens: inputTokens, total_tokens: inputTokens },
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

/** Other endpoints get a generic object that echoes the request, enough to join results on `custom_id`. */
function echo(endpoint: string, body: Record<string, unknown>, ctx: ResponderContext): RequestOutcome {
  const inputTokens = promptTokens(endpoint, body);
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
