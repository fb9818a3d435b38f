/**
 * OpenAI chat requests <-> Bedrock batch records (provider-apis-3.md section 1), as pure functions.
 *
 * A record is `{"recordId", "modelInput"}`. Two invocation types:
 * - `InvokeModel` for Anthropic models: `modelInput` is the Messages body Bedrock's InvokeModel takes, the one
 *   anybatch already sends Anthropic (src/providers/anthropic/request.ts) without `model` and with
 *   `anthropic_version: "bedrock-2023-05-31"`; its output is an Anthropic message. Tools and images carry over.
 * - `Converse` for every other family: `{messages, system, inferenceConfig}`; its output is a Converse response.
 *   Bedrock takes no tools in Converse batch jobs ("Records that include toolConfig fail with a 400"), and anybatch
 *   sends text only, so a request with tools or non-text content is refused at validation, on its line.
 *
 * Record ids are anybatch's own: `R` and the request's line in the part, ten digits (alphanumeric, as Bedrock's
 * examples are); the results are joined back on them (Bedrock does not keep the input's order).
 */
import { createHash } from 'node:crypto';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { toAnthropicParams, toOpenAIResultLine as anthropicResultLine, RequestMappingError } from '../anthropic/mapping';
import type { RequestCheck, ResultLine } from '../types';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

export type InvocationType = 'Converse' | 'InvokeModel';

/** Whether `modelId` is an Anthropic model on Bedrock (a model id, a cross-region profile, or an ARN naming one). */
export function isAnthropicModel(modelId: string): boolean {
  return /(^|[.:/])anthropic\./.test(modelId);
}

/** The invocation type of a job: the option when given, else InvokeModel for Anthropic models and Converse for others. */
export function invocationType(modelId: string, option: InvocationType | undefined): InvocationType {
  return option ?? (isAnthropicModel(modelId) ? 'InvokeModel' : 'Converse');
}

export function recordId(index: number): string {
  return `R${String(index).padStart(10, '0')}`;
}

/** The line index of one of anybatch's record ids, or null for any other. */
export function recordIndex(id: unknown): number | null {
  return typeof id === 'string' && /^R\d{10}$/.test(id) ? Number(id.slice(1)) : null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of an OpenAI message's content: a string, or text parts (anything else cannot go to a Converse job). */
function textOf(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw new RequestMappingError(`${field}[${i}]`, `${field}[${i}] is not a text part; Bedrock Converse batch records are sent as text only (use an Anthropic model for images)`);
      })
      .join('');
  }
  if (content === null || content === undefined) return '';
  throw new RequestMappingError(field, `${field} must be a string or a list of text parts`);
}

/** Fields a Converse record takes no counterpart of: refused, since dropping them would change what is asked. */
const CONVERSE_REFUSED = ['tools', 'tool_choice', 'functions', 'function_call', 'response_format', 'audio', 'modalities'];

/** OpenAI chat body -> Converse record input. Throws RequestMappingError for what cannot be sent. */
export function toConverseInput(body: Json): Json {
  if (body.stream === true) throw new RequestMappingError('body.stream', 'stream: true is not allowed in a batch');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new RequestMappingError('body.n', 'Bedrock answers one choice per request (n must be 1)');
  for (const key of CONVERSE_REFUSED) {
    if (body[key] !== undefined && body[key] !== null && !(key === 'response_format' && isObject(body[key]) && (body[key] as Json).type === 'text')) {
      throw new RequestMappingError(`body.${key}`, `body.${key}: Bedrock batch jobs of the Converse type take no tools or structured output (Bedrock fails such records with a 400); use an Anthropic model, sent as InvokeModel`);
    }
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new RequestMappingError('body.messages', 'body.messages must be a non-empty list');
  const system: Json[] = [];
  const messages: Json[] = [];
  body.messages.forEach((message: unknown, i: number) => {
    const field = `body.messages[${i}]`;
    if (!isObject(message)) throw new RequestMappingError(field, `${field} must be an object`);
    const role = message.role;
    const text = textOf(message.content, `${field}.content`);
    if (role === 'system' || role === 'developer') {
      system.push({ text });
    } else if (role === 'user' || role === 'assistant') {
      if (role === 'assistant' && message.tool_calls !== undefined) throw new RequestMappingError(`${field}.tool_calls`, `${field}.tool_calls: Converse batch records take no tool calls`);
      // Converse takes alternating turns: consecutive turns of one role are joined, as one turn of several blocks.
      const last = messages[messages.length - 1];
      if (last && last.role === role) (last.content as Json[]).push({ text });
      else messages.push({ role, content: [{ text }] });
    } else {
      throw new RequestMappingError(`${field}.role`, `${field}.role ${JSON.stringify(role)} cannot be sent in a Converse batch record (system, user and assistant only)`);
    }
  });
  if (messages[0]?.role !== 'user') throw new RequestMappingError('body.messages', 'Converse needs the first non-system message to be from the user');
  const inferenceConfig: Json = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined && max !== null) {
    if (!Number.isInteger(max) || (max as number) < 1) throw new RequestMappingError('body.max_completion_tokens', `max tokens must be a positive integer, got ${JSON.stringify(max)}`);
    inferenceConfig.maxTokens = max;
  }
  if (typeof body.temperature === 'number') inferenceConfig.temperature = body.temperature;
  if (typeof body.top_p === 'number') inferenceConfig.topP = body.top_p;
  if (typeof body.stop === 'string') inferenceConfig.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) inferenceConfig.stopSequences = body.stop;
  return { messages, ...(system.length ? { system } : {}), ...(Object.keys(inferenceConfig).length ? { inferenceConfig } : {}) };
}

/** OpenAI chat body -> the Anthropic Messages body Bedrock's InvokeModel takes. */
export function toInvokeAnthropicInput(body: Json): Json {
  const { params } = toAnthropicParams(body);
  const { model: _model, ...rest } = params as unknown as Json;
  return { anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...rest };
}

/** The record input of one request for a job of `type` on `modelId`. */
export function toModelInput(body: Json, modelId: string, type: InvocationType): Json {
  if (type === 'Converse') return toConverseInput(body);
  if (!isAnthropicModel(modelId)) {
    throw new RequestMappingError('body.model', `anybatch sends InvokeModel records to Anthropic models only; ${JSON.stringify(modelId)} goes as Converse (leave modelInvocationType unset)`);
  }
  return toInvokeAnthropicInput(body);
}

/** A record line, as uploaded. */
export function recordLine(index: number, modelInput: Json): string {
  return JSON.stringify({ recordId: recordId(index), modelInput }) + '\n';
}

/** What validation makes of one request: whether it translates for the job it will be in. */
export function checkBedrockRequest(payload: Json, options: { modelId?: string; modelInvocationType?: InvocationType }): RequestCheck {
  const modelId = options.modelId ?? (typeof payload.model === 'string' ? payload.model : '');
  try {
    toModelInput(payload, modelId, invocationType(modelId, options.modelInvocationType));
    return { problems: [], warnings: [] };
  } catch (err) {
    if (err instanceof RequestMappingError) return { problems: [{ field: err.field, message: err.message }], warnings: [] };
    throw err;
  }
}

/** One line of a job's `.jsonl.out`. */
export interface OutputRecord {
  recordId?: unknown;
  modelOutput?: unknown;
  error?: { errorCode?: unknown; errorMessage?: unknown } | null;
}

function lineId(...parts: string[]): string {
  return `bedrock_${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24)}`;
}

type Choice = ChatCompletion.Choice;

const CONVERSE_FINISH: Record<string, Choice['finish_reason']> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
};

/** A Converse response -> OpenAI's chat.completion. */
function converseCompletion(output: Json, id: string, model: string, createdAt: number): Json {
  const message = isObject(output.output) && isObject(output.output.message) ? output.output.message : {};
  const content = Array.isArray(message.content) ? message.content : [];
  const text = content.map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : '')).join('');
  const usage = isObject(output.usage) ? output.usage : {};
  const prompt = typeof usage.inputTokens === 'number' ? usage.inputTokens : 0;
  const completion = typeof usage.outputTokens === 'number' ? usage.outputTokens : 0;
  return {
    id,
    object: 'chat.completion',
    created: createdAt,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: CONVERSE_FINISH[String(output.stopReason)] ?? 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    system_fingerprint: null,
  };
}

/** One output record -> one OpenAI batch line under the user's custom_id. */
export function toOpenAIResultLine(record: OutputRecord, customId: string, opts: { type: InvocationType; model: string; createdAt: number }): ResultLine {
  const rid = String(record.recordId);
  if (record.error && isObject(record.error)) {
    const status = typeof record.error.errorCode === 'number' && record.error.errorCode >= 400 && record.error.errorCode <= 599 ? record.error.errorCode : 500;
    const message = typeof record.error.errorMessage === 'string' ? record.error.errorMessage : 'Bedrock reported an error without a message';
    return {
      id: lineId(rid, 'error'),
      custom_id: customId,
      response: { status_code: status, request_id: '', body: { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } } },
      error: null,
    };
  }
  const output = isObject(record.modelOutput) ? record.modelOutput : null;
  if (!output) {
    return { id: lineId(rid, 'empty'), custom_id: customId, response: null, error: { code: 'malformed_result', message: `Bedrock's record ${rid} has neither modelOutput nor error.` } };
  }
  if (opts.type === 'InvokeModel') {
    // An Anthropic message, as the Messages API answers it: the Anthropic adapter's own mapping.
    const line = anthropicResultLine({ custom_id: rid, result: { type: 'succeeded', message: output as never } }, customId, { createdAt: opts.createdAt });
    return { ...line, id: lineId(rid, 'ok') };
  }
  const id = lineId(rid, 'ok');
  return { id, custom_id: customId, response: { status_code: 200, request_id: '', body: converseCompletion(output, `chatcmpl-${id}`, opts.model, opts.createdAt) }, error: null };
}
