/** One OpenAI chat.completions request body -> a Gemini `GenerateContentRequest` (and the batch's model). */
import type { RequestCheck } from '../types';
import type { GenerateContentRequest, GenerationConfig, SafetySetting } from './types';
import { convertMessages } from './request-messages';
import { droppedKeywordsMessage, toGeminiSchema } from './request-schema';
import {
  RequestMappingError,
  Warnings,
  isObject,
  isSet,
  requireInRange,
  requireInteger,
  requireObject,
  requireString,
} from './request-support';
import { convertToolChoice, convertTools, toolsOf } from './request-tools';

export interface GeminiMappingOptions {
  /** Sent as every request's `safetySettings` (Gemini's own; OpenAI's format has no counterpart). */
  safetySettings?: SafetySetting[];
}

export interface MappedGeminiRequest {
  /** The model as Gemini names it, `models/<id>`: a batch takes one, in its path. */
  model: string;
  request: GenerateContentRequest;
  /** One per dropped or altered field, e.g. `body.user: no Gemini equivalent; dropped`. */
  warnings: string[];
}

/** Gemini's limit on `stopSequences` (its GenerationConfig reference). */
export const MAX_STOP_SEQUENCES = 5;

/**
 * `reasoning_effort` -> `thinkingConfig.thinkingBudget`: the budgets of Google's own OpenAI-compatible endpoint for
 * low, medium and high (1024, 8192, 24576); `minimal` is 512, the smallest budget every Gemini 2.5 model accepts
 * (Flash-Lite's floor); `none` is 0, thinking off (models that always think, such as 2.5 Pro, refuse it).
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576 };

/** OpenAI fields Gemini has no counterpart for: dropped, one warning each. */
const DROPPED_FIELDS = [
  'user', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention', 'logit_bias', 'prediction', 'audio', 'modalities',
  'store', 'metadata', 'service_tier', 'stream_options', 'web_search_options', 'verbosity',
] as const;

/** Fields this module translates; anything neither here nor in DROPPED_FIELDS is unknown and warned about. */
const TRANSLATED_FIELDS = new Set([
  'model', 'messages', 'max_completion_tokens', 'max_tokens', 'stop', 'temperature', 'top_p', 'n', 'seed', 'presence_penalty',
  'frequency_penalty', 'logprobs', 'top_logprobs', 'response_format', 'reasoning_effort', 'tools', 'tool_choice',
  'parallel_tool_calls', 'stream', 'functions', 'function_call',
]);

/**
 * The model as Gemini's batch path wants it: `gemini-2.5-flash` and `models/gemini-2.5-flash` both give
 * `models/gemini-2.5-flash`. Other resource names (`tunedModels/...`, Vertex's `publishers/...`) and names with
 * spaces are refused.
 */
export function geminiModelName(model: string, field = 'body.model'): string {
  const id = model.startsWith('models/') ? model.slice('models/'.length) : model;
  if (id === '') throw new RequestMappingError(field, `${field} is empty`);
  if (/[\s/]/.test(id)) {
    throw new RequestMappingError(field, `model ${JSON.stringify(model)} is not a Gemini model name (e.g. gemini-2.5-flash or models/gemini-2.5-flash)`);
  }
  return `models/${id}`;
}

/** max_completion_tokens is OpenAI's current name and wins over max_tokens. */
function maxOutputTokens(body: Record<string, unknown>): number | undefined {
  if (isSet(body.max_completion_tokens)) return requireInteger(body.max_completion_tokens, 'body.max_completion_tokens', 1);
  if (isSet(body.max_tokens)) return requireInteger(body.max_tokens, 'body.max_tokens', 1);
  return undefined;
}

function stopSequences(value: unknown): string[] | undefined {
  if (!isSet(value)) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
    throw new RequestMappingError('body.stop', 'body.stop must be a string or an array of strings');
  }
  if (list.length > MAX_STOP_SEQUENCES) {
    throw new RequestMappingError('body.stop', `body.stop has ${list.length} sequences; Gemini takes at most ${MAX_STOP_SEQUENCES}`);
  }
  return list.length > 0 ? list : undefined;
}

function logprobs(body: Record<string, unknown>, config: GenerationConfig): void {
  const on = body.logprobs;
  if (isSet(on) && typeof on !== 'boolean') throw new RequestMappingError('body.logprobs', 'body.logprobs must be a boolean');
  if (isSet(body.top_logprobs)) {
    const top = requireInteger(body.top_logprobs, 'body.top_logprobs', 0, 20);
    if (on !== true) throw new RequestMappingError('body.top_logprobs', 'body.top_logprobs needs logprobs: true');
    config.logprobs = top;
  }
  if (on === true) config.responseLogprobs = true;
}

function thinkingBudget(value: unknown): number | undefined {
  if (!isSet(value)) return undefined;
  const budget = typeof value === 'string' && Object.prototype.hasOwnProperty.call(THINKING_BUDGETS, value) ? THINKING_BUDGETS[value] : undefined;
  if (budget === undefined) {
    throw new RequestMappingError(
      'body.reasoning_effort',
      `reasoning_effort ${JSON.stringify(value)} is not supported for Gemini (use ${Object.keys(THINKING_BUDGETS).join(', ')})`,
    );
  }
  return budget;
}

/** json_object -> JSON mode; json_schema -> JSON mode with `responseJsonSchema`; text -> nothing. */
function responseFormat(value: unknown, config: GenerationConfig, warnings: Warnings): void {
  if (!isSet(value)) return;
  const format = requireObject(value, 'body.response_format');
  if (format.type === 'text') return;
  if (format.type === 'json_object') {
    config.responseMimeType = 'application/json';
    return;
  }
  if (format.type !== 'json_schema') {
    throw new RequestMappingError('body.response_format.type', `response_format type ${JSON.stringify(format.type)} is not supported for Gemini`);
  }
  const spec = requireObject(format.json_schema, 'body.response_format.json_schema');
  const schema = requireObject(spec.schema, 'body.response_format.json_schema.schema');
  const dropped = new Set<string>();
  config.responseMimeType = 'application/json';
  config.responseJsonSchema = toGeminiSchema(schema, dropped);
  if (dropped.size > 0) warnings.add('body.response_format.json_schema.schema', droppedKeywordsMessage(dropped));
}

function generationConfig(body: Record<string, unknown>, warnings: Warnings): GenerationConfig {
  const config: GenerationConfig = {};
  const max = maxOutputTokens(body);
  if (max !== undefined) config.maxOutputTokens = max;
  const stop = stopSequences(body.stop);
  if (stop) config.stopSequences = stop;
  if (isSet(body.temperature)) config.temperature = requireInRange(body.temperature, 'body.temperature', 0, 2);
  if (isSet(body.top_p)) config.topP = requireInRange(body.top_p, 'body.top_p', 0, 1);
  if (isSet(body.n)) {
    const n = requireInteger(body.n, 'body.n', 1);
    if (n > 1) config.candidateCount = n;
  }
  if (isSet(body.seed)) config.seed = requireInteger(body.seed, 'body.seed', -(2 ** 31), 2 ** 31 - 1);
  if (isSet(body.presence_penalty)) config.presencePenalty = requireInRange(body.presence_penalty, 'body.presence_penalty', -2, 2);
  if (isSet(body.frequency_penalty)) config.frequencyPenalty = requireInRange(body.frequency_penalty, 'body.frequency_penalty', -2, 2);
  logprobs(body, config);
  responseFormat(body.response_format, config, warnings);
  const budget = thinkingBudget(body.reasoning_effort);
  if (budget !== undefined) config.thinkingConfig = { thinkingBudget: budget };
  return config;
}

function safetySettings(value: unknown): SafetySetting[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new RangeError('safetySettings must be an array of {category, threshold}');
  return value.map((raw, i) => {
    if (!isObject(raw) || typeof raw.category !== 'string' || typeof raw.threshold !== 'string') {
      throw new RangeError(`safetySettings[${i}] must be {category: string, threshold: string}`);
    }
    return { category: raw.category, threshold: raw.threshold };
  });
}

function warnDropped(body: Record<string, unknown>, warnings: Warnings): void {
  const dropped = new Set<string>(DROPPED_FIELDS);
  for (const key of Object.keys(body)) {
    if (TRANSLATED_FIELDS.has(key) || !isSet(body[key])) continue;
    if (dropped.has(key)) warnings.add(`body.${key}`, 'no Gemini equivalent; dropped');
    else warnings.add(`body.${key}`, 'not a chat.completions field anybatch translates for Gemini; dropped');
  }
  const parallel = body.parallel_tool_calls;
  if (isSet(parallel) && typeof parallel !== 'boolean') {
    throw new RequestMappingError('body.parallel_tool_calls', 'body.parallel_tool_calls must be a boolean');
  }
  // true is what Gemini does anyway; false has no switch.
  if (parallel === false) warnings.add('body.parallel_tool_calls', 'Gemini cannot be kept from calling several functions at once; dropped');
}

/** OpenAI chat.completions request body -> Gemini GenerateContentRequest. Throws RequestMappingError for what cannot be translated. */
export function toGeminiRequest(body: Record<string, unknown>, opts: GeminiMappingOptions = {}): MappedGeminiRequest {
  const safety = safetySettings(opts.safetySettings);
  if (!isObject(body)) throw new RequestMappingError('body', 'body must be an object');
  if (body.stream === true) throw new RequestMappingError('body.stream', 'stream: true is not allowed in a batch');
  if (isSet(body.stream) && body.stream !== false) throw new RequestMappingError('body.stream', 'body.stream must be a boolean');
  for (const legacy of ['functions', 'function_call'] as const) {
    if (isSet(body[legacy])) throw new RequestMappingError(`body.${legacy}`, `body.${legacy} (deprecated) is not supported; use tools and tool_choice`);
  }

  const warnings = new Warnings();
  const model = geminiModelName(requireString(body.model, 'body.model'));
  const { systemInstruction, contents } = convertMessages(body.messages, warnings);
  const request: GenerateContentRequest = { contents };
  if (systemInstruction) request.systemInstruction = systemInstruction;

  const declarations = convertTools(body.tools, warnings);
  const choice = convertToolChoice(body.tool_choice, declarations);
  if (declarations) request.tools = toolsOf(declarations, choice.keepOnly);
  if (choice.toolConfig) request.toolConfig = choice.toolConfig;
  if (safety && safety.length > 0) request.safetySettings = safety;

  const config = generationConfig(body, warnings);
  if (Object.keys(config).length > 0) request.generationConfig = config;

  warnDropped(body, warnings);
  return { model, request, warnings: warnings.list() };
}

/** Validation's check of one request body: what does not translate is a problem on its line, what is dropped a warning. */
export function checkGeminiRequest(payload: Record<string, unknown>, opts: GeminiMappingOptions = {}): RequestCheck {
  try {
    return { problems: [], warnings: toGeminiRequest(payload, opts).warnings };
  } catch (err) {
    if (err instanceof RequestMappingError) return { problems: [{ field: err.field, message: err.message }], warnings: [] };
    throw err;
  }
}
