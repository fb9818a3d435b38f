/** One Gemini batch result (an inlined response or a results-file line) -> one OpenAI batch output/error line. */
import { createHash } from 'node:crypto';
import type { ChatCompletion, ChatCompletionMessageFunctionToolCall, ChatCompletionTokenLogprob } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ResultLine } from '../types';
import type { Candidate, FinishReason, GenerateContentResponse, GeminiResult, LogprobsCandidate, LogprobsResult, Status, UsageMetadata } from './types';

export interface GeminiResultOptions {
  /** `created` of the chat.completion (unix seconds); 0 when unknown. */
  createdAt?: number;
  /** The batch's model, reported when a response has no `modelVersion`. */
  model?: string;
  /** Keep Gemini's response / error object as the body instead of translating it. */
  raw?: boolean;
}

/** OpenAI's chat.completion, with the `system_fingerprint: null` that batch output lines carry. */
export type ChatCompletionBody = Omit<ChatCompletion, 'system_fingerprint'> & { system_fingerprint: null };
type OpenAIFinishReason = ChatCompletion.Choice['finish_reason'];

/** A tool call as returned, with Google's OpenAI-compatible place for the call's thought signature. */
export type GeminiToolCall = ChatCompletionMessageFunctionToolCall & { extra_content?: { google: { thought_signature: string } } };

/**
 * Gemini finish reason -> OpenAI's. Blocked output (safety, recitation, blocklist, prohibited content, personal
 * data, and their image forms) is `content_filter`; the token limit is `length`; everything else, including
 * LANGUAGE, OTHER and the malformed or unexpected tool call reasons, reads as `stop`. A STOP with function calls
 * is `tool_calls`.
 */
const FINISH_REASONS: Partial<Record<string, OpenAIFinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
};

export function finishReason(reason: FinishReason | undefined, hasToolCalls: boolean): OpenAIFinishReason {
  const mapped = (reason !== undefined && Object.prototype.hasOwnProperty.call(FINISH_REASONS, reason) ? FINISH_REASONS[reason] : undefined) ?? 'stop';
  return mapped === 'stop' && hasToolCalls ? 'tool_calls' : mapped;
}

/** gRPC canonical code (a per-request batch error is a `google.rpc.Status`) -> the HTTP status Google maps it to. */
const GRPC_HTTP: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
const GRPC_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/**
 * The HTTP status of a Gemini error: `code` when it is one (an HTTP error body), else from the canonical name in
 * `status`, else from `code` read as a gRPC code (a batch's per-request `google.rpc.Status`); 500 when none tells.
 */
export function errorStatusCode(error: Status): number {
  const code = error.code;
  if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) return code;
  const byName = typeof error.status === 'string' ? (GRPC_NAMES as readonly string[]).indexOf(error.status) : -1;
  if (byName > 0) return GRPC_HTTP[byName];
  if (typeof code === 'number' && Number.isInteger(code) && code > 0 && code < GRPC_HTTP.length) return GRPC_HTTP[code];
  return 500;
}

/** OpenAI's error `type` for an HTTP status. */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/** Stable line id: re-reading the same results yields the same ids. */
function lineId(...parts: string[]): string {
  return 'batch_req_' + hash(...parts).slice(0, 32);
}

function tokenBytes(token: string): number[] {
  return [...Buffer.from(token, 'utf8')];
}

function tokenLogprob(c: LogprobsCandidate): { token: string; logprob: number; bytes: number[] } {
  const token = c.token ?? '';
  return { token, logprob: c.logProbability ?? 0, bytes: tokenBytes(token) };
}

/** `logprobsResult` -> OpenAI's `logprobs.content`: the chosen token per step, with that step's top candidates. */
function choiceLogprobs(result: LogprobsResult | undefined): ChatCompletion.Choice['logprobs'] {
  if (!result?.chosenCandidates) return null;
  const content: ChatCompletionTokenLogprob[] = result.chosenCandidates.map((chosen, step) => ({
    ...tokenLogprob(chosen),
    top_logprobs: (result.topCandidates?.[step]?.candidates ?? []).map(tokenLogprob),
  }));
  return { content, refusal: null };
}

/**
 * Gemini usage -> OpenAI usage. OpenAI counts reasoning inside completion_tokens, so completion_tokens is the
 * candidates' tokens plus the thoughts' (also reported as reasoning_tokens); prompt_tokens is the prompt plus
 * server-side tool results; cached_tokens is the cached content (already inside promptTokenCount).
 */
export function toUsage(usage: UsageMetadata | undefined): CompletionUsage {
  const thoughts = usage?.thoughtsTokenCount ?? 0;
  const prompt = (usage?.promptTokenCount ?? 0) + (usage?.toolUsePromptTokenCount ?? 0);
  const completion = (usage?.candidatesTokenCount ?? 0) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage?.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: usage?.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

function toChoice(candidate: Candidate, position: number, customId: string): ChatCompletion.Choice {
  const index = candidate.index ?? position;
  const texts: string[] = [];
  const toolCalls: GeminiToolCall[] = [];
  (candidate.content?.parts ?? []).forEach((part, p) => {
    // Thought summaries are the model's reasoning, not its answer.
    if (part.thought) return;
    if (part.functionCall) {
      const call: GeminiToolCall = {
        id: part.functionCall.id || `call_${hash(customId, String(index), String(p)).slice(0, 24)}`,
        type: 'function',
        function: { name: part.functionCall.name ?? '', arguments: JSON.stringify(part.functionCall.args ?? {}) },
      };
      if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
      toolCalls.push(call);
    } else if (typeof part.text === 'string') {
      texts.push(part.text);
    }
    // Inline data, code execution and other parts have no chat.completion counterpart.
  });
  return {
    index,
    message: {
      role: 'assistant',
      content: texts.length > 0 ? texts.join('') : null,
      refusal: null,
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    },
    logprobs: choiceLogprobs(candidate.logprobsResult),
    finish_reason: finishReason(candidate.finishReason, toolCalls.length > 0),
  };
}

export function toChatCompletion(response: GenerateContentResponse, customId: string, opts: GeminiResultOptions = {}): ChatCompletionBody {
  const id = response.responseId ? `chatcmpl-${response.responseId}` : `chatcmpl-${hash(customId, 'response').slice(0, 24)}`;
  return {
    id,
    object: 'chat.completion',
    created: opts.createdAt ?? 0,
    model: response.modelVersion ?? (opts.model ?? '').replace(/^models\//, ''),
    choices: (response.candidates ?? []).map((candidate, i) => toChoice(candidate, i, customId)),
    usage: toUsage(response.usageMetadata),
    system_fingerprint: null,
  };
}

function errorLine(customId: string, error: Status, opts: GeminiResultOptions): ResultLine {
  const status = errorStatusCode(error);
  const body = opts.raw
    ? { error }
    : {
        error: {
          message: error.message || 'Gemini reported an error without a message',
          type: errorType(status),
          param: null,
          code: error.status ?? (typeof error.code === 'number' && GRPC_NAMES[error.code] ? GRPC_NAMES[error.code] : null),
        },
      };
  return {
    id: lineId(customId, 'error', String(error.code ?? ''), error.message ?? ''),
    custom_id: customId,
    response: { status_code: status, request_id: '', body },
    error: null,
  };
}

/**
 * One Gemini result -> one OpenAI batch line under the caller's custom_id: a response is a chat.completion (200);
 * a prompt Gemini blocked (no candidates, `promptFeedback.blockReason`) is an error line with code `content_filter`;
 * an error is an error line with the HTTP status of its code and OpenAI's error body.
 */
export function toOpenAIResultLine(customId: string, result: GeminiResult, opts: GeminiResultOptions = {}): ResultLine {
  // A results-file line may hold the HTTP error body ({error: {code, message, status}}) as its error.
  const error = result.error as (Status & { error?: Status }) | undefined;
  if (error) return errorLine(customId, error.error ?? error, opts);
  const response = result.response;
  if (!response) {
    return {
      id: lineId(customId, 'empty'),
      custom_id: customId,
      response: null,
      error: { code: 'missing_result', message: 'Gemini returned neither a response nor an error for this request.' },
    };
  }
  const requestId = response.responseId ?? '';
  const blocked = response.promptFeedback?.blockReason;
  if (blocked && (response.candidates ?? []).length === 0) {
    const detail = response.promptFeedback?.blockReasonMessage;
    return {
      id: lineId(customId, 'blocked', requestId, blocked),
      custom_id: customId,
      response: null,
      error: { code: 'content_filter', message: `Gemini blocked the prompt (blockReason ${blocked})${detail ? `: ${detail}` : '.'}` },
    };
  }
  return {
    id: lineId(customId, 'response', requestId),
    custom_id: customId,
    response: { status_code: 200, request_id: requestId, body: opts.raw ? response : toChatCompletion(response, customId, opts) },
    error: null,
  };
}
