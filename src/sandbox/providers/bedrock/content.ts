/**
 * The text of a conversation, read from the two content shapes Bedrock records use: Anthropic's (a string or a list
 * of typed blocks) and Converse's / Nova's (a list of `{text}` blocks). The stand-in model replies to the last user
 * turn and counts tokens over all of it.
 */
import { isPlainObject } from '../../kernel/http';
import { CHARS_PER_TOKEN, countTokens, replyTo } from '../../kernel/model';

/** Anthropic content: a string, or blocks whose `text` (and tool results' content) count as text. */
export function anthropicText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isPlainObject)
    .map((block) => (typeof block.text === 'string' ? block.text : block.type === 'tool_result' ? anthropicText(block.content) : ''))
    .filter((text) => text !== '')
    .join(' ');
}

/** Converse / Nova content: `[{text}, ...]`; other blocks (images, documents) carry no text. */
export function blocksText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .filter(isPlainObject)
    .map((block) => (typeof block.text === 'string' ? block.text : ''))
    .filter((text) => text !== '')
    .join(' ');
}

/** The last message with role `user`, or undefined. */
export function lastUser(messages: readonly Record<string, unknown>[]): Record<string, unknown> | undefined {
  return [...messages].reverse().find((m) => m.role === 'user');
}

/** The stand-in model's answer: the kernel's reply with a note of the system prompt, cut at `maxTokens`, and its counts. */
export interface StandInAnswer {
  text: string;
  inputTokens: number;
  outputTokens: number;
  stopReason: 'end_turn' | 'max_tokens';
}

/** The answer to a conversation of `turns` (each turn's text) whose last user turn says `lastUserText`. */
export function standInAnswer(system: string, lastUserText: string, turns: string[], maxTokens: number): StandInAnswer {
  let text = replyTo(lastUserText);
  if (system !== '') text += ` [system: ${system.slice(0, 30)}]`;
  let outputTokens = countTokens(text);
  let stopReason: StandInAnswer['stopReason'] = 'end_turn';
  if (outputTokens > maxTokens) {
    text = text.slice(0, maxTokens * CHARS_PER_TOKEN);
    outputTokens = maxTokens;
    stopReason = 'max_tokens';
  }
  return { text, inputTokens: countTokens([system, ...turns].join('\n')), outputTokens, stopReason };
}
