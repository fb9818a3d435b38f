/**
 * The stand-in model as Claude on Bedrock under `InvokeModel` (docs/provider-apis-3.md §1, "InvokeModel, Anthropic"):
 * the record's `modelInput` is an Anthropic Messages body with `anthropic_version: "bedrock-2023-05-31"` and no
 * `model` (the job names it), and `modelOutput` is an Anthropic `Message`. The reply text and token counts are the
 * kernel's, composed as the anthropic module composes them, so the same conversation gets the same answer on both.
 * (That module's responder is not imported: provider modules share only the kernel and the OpenAI module.)
 */
import { createHash } from 'node:crypto';
import { isPlainObject } from '../../kernel/http';
import { base62 } from '../../kernel/ids';
import { anthropicText, lastUser, standInAnswer } from './content';
import { anthropicModelName } from './models';
import { malformed, type ModelReply } from './wire';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/** Why Bedrock would refuse this body for an Anthropic model (a 400 error record), or null. */
export function anthropicProblem(body: Record<string, unknown>): string | null {
  const version = body.anthropic_version;
  if (version === undefined) return malformed('#: required key [anthropic_version] not found');
  if (version !== BEDROCK_ANTHROPIC_VERSION) return malformed(`#/anthropic_version: ${JSON.stringify(version)} is not a valid enum value (expected "${BEDROCK_ANTHROPIC_VERSION}")`);
  if (body.model !== undefined) return malformed('#: extraneous key [model] is not permitted');
  const maxTokens = body.max_tokens;
  if (maxTokens === undefined) return malformed('#: required key [max_tokens] not found');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens)) return malformed('#/max_tokens: expected type: Integer');
  if (maxTokens < 1) return malformed(`#/max_tokens: ${maxTokens} is not greater or equal to 1`);
  const messages = body.messages;
  if (messages === undefined) return malformed('#: required key [messages] not found');
  if (!Array.isArray(messages) || messages.length === 0) return malformed('#/messages: expected a non-empty JSONArray');
  for (const [i, message] of messages.entries()) {
    if (!isPlainObject(message)) return malformed(`#/messages/${i}: expected type: JSONObject`);
    if (message.role !== 'user' && message.role !== 'assistant') return malformed(`#/messages/${i}/role: ${JSON.stringify(message.role)} is not a valid enum value`);
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) return malformed(`#/messages/${i}/content: expected type: String or JSONArray`);
  }
  return null;
}

/** Bedrock's Claude message ids: `msg_bdrk_` and 24 base62 characters, stable per record (`key`). */
export function bedrockMessageId(key: string): string {
  return `msg_bdrk_01${base62(createHash('sha256').update(`bedrock-msg\u0000${key}`).digest(), 22)}`;
}

/** `body` passed `anthropicProblem`; `key` is stable per record. */
export function anthropicReply(body: Record<string, unknown>, modelId: string, key: string): ModelReply {
  const messages = (body.messages as unknown[]).filter(isPlainObject);
  const system = anthropicText(body.system);
  const { text, inputTokens, outputTokens, stopReason } = standInAnswer(system, anthropicText(lastUser(messages)?.content), messages.map((m) => anthropicText(m.content)), body.max_tokens as number);
  return {
    modelOutput: {
      id: bedrockMessageId(key),
      type: 'message',
      role: 'assistant',
      model: anthropicModelName(modelId),
      content: [{ type: 'text', text }],
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens },
    },
    inputTokens,
    outputTokens,
  };
}
