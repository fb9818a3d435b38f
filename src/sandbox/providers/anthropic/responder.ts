/**
 * The stand-in model as Claude: a deterministic `Message` for valid Messages params, so repeated reads agree
 * and tests can predict replies. Replies and token counts are the kernel's.
 */
import { isPlainObject } from '../../kernel/http';
import { CHARS_PER_TOKEN, countTokens, replyTo } from '../../kernel/model';
import { stableAnthropicId } from './ids';
import { chooseTool } from './tools';
import type { ContentBlockJson, MessageJson, StopReason } from './wire';

/** `params` passed `paramsProblem`; `key` is stable per request and seeds the ids. */
export function reply(params: Record<string, unknown>, key: string): MessageJson {
  const messages = (params.messages as unknown[]).filter(isPlainObject);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const lastText = textOf(lastUser?.content);
  const system = textOf(params.system); // a string or a list of text blocks, like message content
  const images = imageCount(lastUser?.content);

  let text = replyTo(lastText);
  if (images > 0) text += ` [${images} image${images === 1 ? '' : 's'}]`;
  if (system !== '') text += ` [system: ${system.slice(0, 30)}]`;
  const call = chooseTool(params, lastText);
  const content: ContentBlockJson[] = [{ type: 'text', text, citations: null }];
  if (call) content.push({ type: 'tool_use', id: stableAnthropicId('toolu', key), name: call.name, input: call.input, caller: { type: 'direct' } });
  let outputTokens = countTokens(text) + (call ? countTokens(JSON.stringify(call.input)) : 0);
  let stopReason: StopReason = call ? 'tool_use' : 'end_turn';

  const maxTokens = params.max_tokens as number;
  if (outputTokens > maxTokens) {
    // The model ran out of room mid-text: a partial tool call is never emitted.
    content.splice(0, content.length, { type: 'text', text: text.slice(0, maxTokens * CHARS_PER_TOKEN), citations: null });
    outputTokens = maxTokens;
    stopReason = 'max_tokens';
  }

  const prompt = [system, ...messages.map((m) => textOf(m.content))].join('\n') + (Array.isArray(params.tools) ? JSON.stringify(params.tools) : '');
  return {
    id: stableAnthropicId('msg', key),
    type: 'message',
    role: 'assistant',
    model: params.model as string,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: countTokens(prompt),
      output_tokens: outputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: null,
      server_tool_use: null,
      service_tier: 'batch',
      output_tokens_details: null,
      inference_geo: null,
      speed: null,
    },
  };
}

/** Content is a string or a list of blocks; text blocks and tool results count as text. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isPlainObject)
    .map((block) => (typeof block.text === 'string' ? block.text : block.type === 'tool_result' ? textOf(block.content) : ''))
    .filter((text) => text !== '')
    .join(' ');
}

function imageCount(content: unknown): number {
  return Array.isArray(content) ? content.filter((block) => isPlainObject(block) && block.type === 'image').length : 0;
}
