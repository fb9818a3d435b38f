/**
 * The stand-in model as Amazon Nova, and the Converse shape it shares with every family (docs/provider-apis-3.md §1,
 * "InvokeModel, Amazon Nova" and "Converse type"): the body is `{system?: [{text}], messages: [{role, content:
 * [{text}]}], inferenceConfig?: {maxTokens, temperature, topP, topK, stopSequences}}`, and the answer is
 * `{output: {message: {role: "assistant", content: [{text}]}}, stopReason, usage: {inputTokens, outputTokens,
 * totalTokens}}` (Nova's InvokeModel response; the Converse response adds `metrics`, see `converse.ts`).
 */
import { isPlainObject } from '../../kernel/http';
import { blocksText, lastUser, standInAnswer } from './content';
import { malformed, type ModelReply } from './wire';

/** Why this messages-and-blocks body cannot be answered (a 400 error record), or null. */
export function messagesProblem(body: Record<string, unknown>): string | null {
  const messages = body.messages;
  if (messages === undefined) return malformed('#: required key [messages] not found');
  if (!Array.isArray(messages) || messages.length === 0) return malformed('#/messages: expected a non-empty JSONArray');
  for (const [i, message] of messages.entries()) {
    if (!isPlainObject(message)) return malformed(`#/messages/${i}: expected type: JSONObject`);
    if (message.role !== 'user' && message.role !== 'assistant') return malformed(`#/messages/${i}/role: ${JSON.stringify(message.role)} is not a valid enum value`);
    if (!Array.isArray(message.content)) return malformed(`#/messages/${i}/content: expected type: JSONArray`);
  }
  if (body.system !== undefined && !Array.isArray(body.system)) return malformed('#/system: expected type: JSONArray');
  if (body.inferenceConfig !== undefined && !isPlainObject(body.inferenceConfig)) return malformed('#/inferenceConfig: expected type: JSONObject');
  const maxTokens = isPlainObject(body.inferenceConfig) ? body.inferenceConfig.maxTokens : undefined;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
    return malformed('#/inferenceConfig/maxTokens: expected a positive Integer');
  }
  return null;
}

/** `body` passed `messagesProblem`: the assistant message, stop reason and usage both Nova and Converse answer with. */
export function messagesReply(body: Record<string, unknown>): ModelReply {
  const messages = (body.messages as unknown[]).filter(isPlainObject);
  const system = blocksText(body.system);
  const config = isPlainObject(body.inferenceConfig) ? body.inferenceConfig : {};
  const maxTokens = typeof config.maxTokens === 'number' ? config.maxTokens : Infinity;
  const { text, inputTokens, outputTokens, stopReason } = standInAnswer(system, blocksText(lastUser(messages)?.content), messages.map((m) => blocksText(m.content)), maxTokens);
  return {
    modelOutput: {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason,
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    },
    inputTokens,
    outputTokens,
  };
}
