/**
 * The stand-in model as Gemini: a deterministic `GenerateContentResponse` for a `GenerateContentRequest`, with the
 * kernel's replies and token counts, so repeated reads agree and tests can predict replies.
 */
import { isPlainObject } from '../../kernel/http';
import { stableHex } from '../../kernel/ids';
import { CHARS_PER_TOKEN, countTokens, replyTo } from '../../kernel/model';

type Json = Record<string, unknown>;

function textOf(content: unknown): string {
  if (!isPlainObject(content) || !Array.isArray(content.parts)) return '';
  return content.parts
    .filter(isPlainObject)
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join(' ');
}

/** Why a request cannot be answered (Gemini's INVALID_ARGUMENT), or null. */
export function requestProblem(request: unknown): string | null {
  if (!isPlainObject(request)) return 'request must be an object';
  if (!Array.isArray(request.contents) || request.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  for (const content of request.contents) {
    if (!isPlainObject(content) || !Array.isArray(content.parts) || content.parts.length === 0) {
      return '* GenerateContentRequest.contents.parts: contents.parts must not be empty.';
    }
  }
  return null;
}

/** `request` passed `requestProblem`; `key` is stable per request and seeds the response id. */
export function reply(request: Json, model: string, key: string): Json {
  const contents = (request.contents as unknown[]).filter(isPlainObject);
  const lastUser = [...contents].reverse().find((c) => c.role === undefined || c.role === 'user');
  const system = textOf(request.systemInstruction);
  let text = replyTo(textOf(lastUser));
  if (system !== '') text += ` [system: ${system.slice(0, 30)}]`;
  const config = isPlainObject(request.generationConfig) ? request.generationConfig : {};
  const max = typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : Infinity;
  let outputTokens = countTokens(text);
  let finishReason = 'STOP';
  if (outputTokens > max) {
    text = text.slice(0, max * CHARS_PER_TOKEN);
    outputTokens = max;
    finishReason = 'MAX_TOKENS';
  }
  const prompt = [system, ...contents.map(textOf)].join('\n');
  const promptTokens = countTokens(prompt);
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason, index: 0 }],
    usageMetadata: { promptTokenCount: promptTokens, candidatesTokenCount: outputTokens, totalTokenCount: promptTokens + outputTokens },
    modelVersion: model.replace(/^models\//, ''),
    responseId: stableHex('gemini-response', key).slice(0, 22),
  };
}
