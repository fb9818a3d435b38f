/** One Anthropic results-file line -> one OpenAI batch output/error line (docs/provider-apis.md section 10.3). */
import { createHash } from 'node:crypto';
import type { Message, StopReason } from '@anthropic-ai/sdk/resources/messages';
import type { MessageBatchResult } from '@anthropic-ai/sdk/resources/messages/batches';
import type { ChatCompletion, ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions';
import type { ResultLine } from '../types';

export interface AnthropicResultLine {
  custom_id: string;
  result: MessageBatchResult;
}

export interface ResultLineOptions {
  /** Keep Anthropic's message / error object as the body instead of translating it. */
  raw?: boolean;
  /** `created` of the chat.completion (unix seconds); 0 when unknown. */
  createdAt?: number;
}

/** OpenAI's chat.completion, with the `system_fingerprint: null` that batch output lines carry. */
export type ChatCompletionBody = Omit<ChatCompletion, 'system_fingerprint'> & { system_fingerprint: null };
type FinishReason = ChatCompletion.Choice['finish_reason'];

const FINISH_REASONS: Record<StopReason, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** HTTP status a real Messages call would have answered with, by Anthropic error type. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function errorStatusCode(type: string | undefined): number {
  return (type !== undefined && Object.prototype.hasOwnProperty.call(ERROR_STATUS, type) ? ERROR_STATUS[type] : undefined) ?? 500;
}

export function finishReason(stopReason: string | null | undefined): FinishReason {
  // null (and any reason newer than this table) reads as a normal stop.
  return (stopReason && Object.prototype.hasOwnProperty.call(FINISH_REASONS, stopReason) ? FINISH_REASONS[stopReason as StopReason] : undefined) ?? 'stop';
}

/** Stable line id: re-reading the same results yields the same ids. */
function lineId(...parts: string[]): string {
  return 'batch_req_' + createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

export function toChatCompletion(message: Message, createdAt: number): ChatCompletionBody {
  const texts: string[] = [];
  const toolCalls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const block of message.content ?? []) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
    // thinking, redacted_thinking and server-tool blocks have no chat.completion counterpart.
  }
  const usage = message.usage;
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  // Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes them.
  const prompt = (usage?.input_tokens ?? 0) + cacheRead + (usage?.cache_creation_input_tokens ?? 0);
  const completion = usage?.output_tokens ?? 0;
  return {
    id: `chatcmpl-${message.id}`,
    object: 'chat.completion',
    created: createdAt,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length > 0 ? texts.join('') : null,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(message.stop_reason),
      },
    ],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cacheRead },
    },
    system_fingerprint: null,
  };
}

/** One Anthropic results-file line -> one OpenAI batch output/error line, under the caller's original custom_id. */
export function toOpenAIResultLine(line: AnthropicResultLine, originalCustomId: string, opts: ResultLineOptions = {}): ResultLine {
  const result = line.result;
  switch (result.type) {
    case 'succeeded': {
      const message = result.message;
      const body = opts.raw ? message : toChatCompletion(message, opts.createdAt ?? 0);
      return {
        id: lineId(line.custom_id, message.id),
        custom_id: originalCustomId,
        response: { status_code: 200, request_id: message.id, body },
        error: null,
      };
    }
    case 'errored': {
      const error = result.error?.error as { type?: string; message?: string } | undefined;
      const requestId = result.error?.request_id ?? '';
      const type = error?.type ?? 'api_error';
      const body = opts.raw
        ? result.error
        : { error: { message: error?.message ?? 'Anthropic reported an error without a message', type, param: null, code: null } };
      return {
        id: lineId(line.custom_id, 'errored', requestId),
        custom_id: originalCustomId,
        response: { status_code: errorStatusCode(type), request_id: requestId, body },
        error: null,
      };
    }
    case 'canceled':
      return {
        id: lineId(line.custom_id, 'canceled'),
        custom_id: originalCustomId,
        response: null,
        error: { code: 'batch_cancelled', message: 'This request was not executed because the batch was cancelled.' },
      };
    case 'expired':
      return {
        id: lineId(line.custom_id, 'expired'),
        custom_id: originalCustomId,
        response: null,
        error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
      };
    default: {
      // A result type newer than this code: report it rather than lose the line.
      const type = String((result as { type?: unknown }).type);
      return {
        id: lineId(line.custom_id, type),
        custom_id: originalCustomId,
        response: null,
        error: { code: 'unknown_result_type', message: `Anthropic returned an unrecognised result type ${JSON.stringify(type)}.` },
      };
    }
  }
}
