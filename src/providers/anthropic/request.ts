/** One OpenAI chat.completions request body -> Anthropic Messages params (docs/provider-apis.md section 10.2). */
import type { MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';
import { convertMessages } from './request-messages';
import { RequestMappingError, Warnings, isObject, isSet, requireNumber, requireObject, requireString } from './request-support';
import { convertToolChoice, convertTools } from './request-tools';

export interface AnthropicMappingOptions {
  /** max_tokens when the request has neither max_completion_tokens nor max_tokens (default 4096). */
  defaultMaxTokens?: number;
  /**
   * 'native' (default): json_schema -> params.output_config.format {type:'json_schema', schema}; json_object -> an
   * added system instruction to answer with one JSON object; text -> nothing. 'reject': any response_format other
   * than text is a line error.
   */
  responseFormat?: 'native' | 'reject';
}

/**
 * The Messages params we send. `@anthropic-ai/sdk@1.13.0` no longer types the sampling params, but the API still
 * takes them (provider-apis.md 3.2) and the SDK sends the body as given, so they are added here.
 */
export type AnthropicParams = MessageCreateParamsNonStreaming & { temperature?: number; top_p?: number };

export interface MappedRequest {
  params: AnthropicParams;
  /** One per dropped or altered field, e.g. `body.seed: no Anthropic equivalent; dropped`. */
  warnings: string[];
}

export const DEFAULT_MAX_TOKENS = 4096;

/** OpenAI fields Anthropic has no counterpart for: dropped, one warning each. */
const DROPPED_FIELDS = [
  'seed', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'prediction', 'audio',
  'modalities', 'store', 'metadata', 'service_tier', 'stream_options', 'web_search_options', 'verbosity',
] as const;

/** Fields this module translates; anything neither here nor in DROPPED_FIELDS is unknown and warned about. */
const TRANSLATED_FIELDS = new Set([
  'model', 'messages', 'max_completion_tokens', 'max_tokens', 'stop', 'temperature', 'top_p', 'n', 'tools', 'tool_choice',
  'parallel_tool_calls', 'user', 'safety_identifier', 'reasoning_effort', 'response_format', 'stream',
]);

/** Thinking budgets per reasoning_effort; 1024 is Anthropic's minimum budget. */
const THINKING_BUDGETS: Record<string, number> = { low: 1024, medium: 4096, high: 16384 };
const MIN_THINKING_BUDGET = 1024;

export const JSON_OBJECT_INSTRUCTION =
  'Respond with exactly one valid JSON object and nothing else: no prose before or after it and no Markdown code fences.';

function positiveInteger(value: unknown, field: string): number {
  const n = requireNumber(value, field);
  if (!Number.isInteger(n) || n < 1) throw new RequestMappingError(field, `${field} must be a positive integer, got ${n}`);
  return n;
}

/** max_completion_tokens is OpenAI's current name and wins; Anthropic requires a value, so fall back to the default. */
function maxTokens(body: Record<string, unknown>, fallback: number): number {
  if (isSet(body.max_completion_tokens)) return positiveInteger(body.max_completion_tokens, 'body.max_completion_tokens');
  if (isSet(body.max_tokens)) return positiveInteger(body.max_tokens, 'body.max_tokens');
  return fallback;
}

function stopSequences(value: unknown, warnings: Warnings): string[] | undefined {
  if (!isSet(value)) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
    throw new RequestMappingError('body.stop', 'body.stop must be a string or an array of strings');
  }
  // Anthropic rejects whitespace-only stop sequences.
  const kept = list.filter((s) => s.trim() !== '');
  if (kept.length < list.length) warnings.add('body.stop', 'whitespace-only stop sequences are not supported by Anthropic; dropped');
  return kept.length > 0 ? kept : undefined;
}

function temperature(value: unknown, warnings: Warnings): number | undefined {
  if (!isSet(value)) return undefined;
  const t = requireNumber(value, 'body.temperature');
  if (t < 0) throw new RequestMappingError('body.temperature', `body.temperature must be >= 0, got ${t}`);
  if (t <= 1) return t;
  warnings.add('body.temperature', `${t} is above Anthropic's maximum of 1; clamped to 1`);
  return 1;
}

function checkN(value: unknown): void {
  if (!isSet(value)) return;
  const n = positiveInteger(value, 'body.n');
  if (n > 1) throw new RequestMappingError('body.n', 'n > 1 is not supported for Anthropic batches; send n separate requests');
}

/** safety_identifier is OpenAI's replacement for user; either becomes metadata.user_id. */
function userId(body: Record<string, unknown>, warnings: Warnings): string | undefined {
  const user = isSet(body.user) ? requireString(body.user, 'body.user') : undefined;
  const safety = isSet(body.safety_identifier) ? requireString(body.safety_identifier, 'body.safety_identifier') : undefined;
  if (user !== undefined && safety !== undefined && user !== safety) {
    warnings.add('body.user', 'safety_identifier is used for metadata.user_id; dropped');
  }
  return safety ?? user;
}

function thinking(value: unknown, max: number, warnings: Warnings): MessageCreateParamsNonStreaming['thinking'] {
  if (!isSet(value) || value === 'none') return undefined;
  const budget = typeof value === 'string' ? THINKING_BUDGETS[value] : undefined;
  if (budget === undefined) {
    throw new RequestMappingError('body.reasoning_effort', `reasoning_effort ${JSON.stringify(value)} is not supported for Anthropic (use low, medium or high)`);
  }
  // Anthropic needs budget_tokens >= 1024 and < max_tokens.
  if (max <= MIN_THINKING_BUDGET) {
    warnings.add('body.reasoning_effort', `max_tokens ${max} leaves no room for Anthropic's minimum thinking budget of ${MIN_THINKING_BUDGET}; dropped`);
    return undefined;
  }
  return { type: 'enabled', budget_tokens: Math.min(budget, max - 1) };
}

/** Applies response_format: json_schema as native structured output, json_object as a system instruction. */
function applyResponseFormat(value: unknown, mode: 'native' | 'reject', params: AnthropicParams): void {
  if (!isSet(value)) return;
  const format = requireObject(value, 'body.response_format');
  if (format.type === 'text') return;
  if (format.type !== 'json_schema' && format.type !== 'json_object') {
    throw new RequestMappingError('body.response_format.type', `response_format type ${JSON.stringify(format.type)} is not supported for Anthropic`);
  }
  if (mode === 'reject') {
    throw new RequestMappingError('body.response_format', `response_format ${format.type} is not allowed: this Anthropic mapping is set to reject structured output`);
  }
  if (format.type === 'json_schema') {
    const spec = requireObject(format.json_schema, 'body.response_format.json_schema');
    const schema = requireObject(spec.schema, 'body.response_format.json_schema.schema');
    params.output_config = { format: { type: 'json_schema', schema } };
    return;
  }
  const system = params.system;
  if (system === undefined) params.system = JSON_OBJECT_INSTRUCTION;
  else if (typeof system === 'string') params.system = `${system}\n${JSON_OBJECT_INSTRUCTION}`;
  else params.system = [...system, { type: 'text', text: JSON_OBJECT_INSTRUCTION }];
}

function warnDropped(body: Record<string, unknown>, warnings: Warnings): void {
  const dropped = new Set<string>(DROPPED_FIELDS);
  for (const key of Object.keys(body)) {
    if (TRANSLATED_FIELDS.has(key) || !isSet(body[key])) continue;
    if (dropped.has(key)) warnings.add(`body.${key}`, 'no Anthropic equivalent; dropped');
    else warnings.add(`body.${key}`, 'not a chat.completions field anybatch translates for Anthropic; dropped');
  }
}

/** OpenAI chat.completions request body -> Anthropic Messages params (section 10.2). Throws RequestMappingError for what cannot be translated. */
export function toAnthropicParams(body: Record<string, unknown>, opts: AnthropicMappingOptions = {}): MappedRequest {
  const fallback = opts.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(fallback) || fallback < 1) throw new RangeError(`defaultMaxTokens must be a positive integer, got ${fallback}`);
  if (!isObject(body)) throw new RequestMappingError('body', 'body must be an object');
  if (body.stream === true) throw new RequestMappingError('body.stream', 'stream: true is not allowed in a batch');
  if (isSet(body.stream) && body.stream !== false) throw new RequestMappingError('body.stream', 'body.stream must be a boolean');
  checkN(body.n);

  const warnings = new Warnings();
  const model = requireString(body.model, 'body.model');
  if (model === '') throw new RequestMappingError('body.model', 'body.model is empty');
  const { system, messages } = convertMessages(body.messages, warnings);
  const max = maxTokens(body, fallback);
  const params: AnthropicParams = { model, max_tokens: max, messages };
  if (system !== undefined) params.system = system;

  const stop = stopSequences(body.stop, warnings);
  if (stop) params.stop_sequences = stop;
  const temp = temperature(body.temperature, warnings);
  if (temp !== undefined) params.temperature = temp;
  if (isSet(body.top_p)) params.top_p = requireNumber(body.top_p, 'body.top_p');

  const tools = convertTools(body.tools, warnings);
  if (tools) params.tools = tools;
  const toolChoice = convertToolChoice(body, tools !== undefined);
  if (toolChoice) params.tool_choice = toolChoice;

  const user = userId(body, warnings);
  if (user !== undefined) params.metadata = { user_id: user };
  const think = thinking(body.reasoning_effort, max, warnings);
  if (think) params.thinking = think;
  applyResponseFormat(body.response_format, opts.responseFormat ?? 'native', params);

  warnDropped(body, warnings);
  return { params, warnings: warnings.list() };
}
