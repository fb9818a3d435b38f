/** OpenAI `messages` -> Anthropic `system` + alternating user/assistant `messages` (hoisting, tool results, merging). */
import type { ContentBlockParam, MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { assistantParts, textContent, toolResultBlock, toolUseBlock, userContent } from './request-content';
import { RequestMappingError, Warnings, isSet, requireObject, type JsonObject } from './request-support';

export interface Conversation {
  system?: string | TextBlockParam[];
  messages: MessageParam[];
}

/** Message keys we translate (or reject); any other set key is dropped with a warning. */
const MESSAGE_KEYS = new Set(['role', 'content', 'tool_calls', 'tool_call_id', 'function_call']);

interface Turn {
  role: 'user' | 'assistant';
  content: string | ContentBlockParam[];
  /** Index of the OpenAI message that opened the turn, for error fields. */
  index: number;
}

function toBlocks(content: string | ContentBlockParam[]): ContentBlockParam[] {
  // Anthropic rejects empty text blocks, so an empty string contributes nothing to a merged turn.
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

/** Appends a turn, merging it into the previous one when the roles match (tool results + user follow-up, etc.). */
function pushTurn(turns: Turn[], turn: Turn): void {
  const last = turns[turns.length - 1];
  if (last && last.role === turn.role) last.content = [...toBlocks(last.content), ...toBlocks(turn.content)];
  else turns.push(turn);
}

/** System pieces -> one newline-joined string, or text blocks when any message used parts (keeps cache_control). */
function buildSystem(pieces: Array<string | TextBlockParam[]>): string | TextBlockParam[] | undefined {
  if (pieces.some((p) => typeof p !== 'string')) {
    const blocks = pieces.flatMap((p) => (typeof p === 'string' ? [{ type: 'text' as const, text: p }] : p));
    const nonEmpty = blocks.filter((b) => b.text !== '');
    return nonEmpty.length > 0 ? nonEmpty : undefined;
  }
  const texts = (pieces as string[]).filter((t) => t !== '');
  return texts.length > 0 ? texts.join('\n') : undefined;
}

function assistantTurn(msg: JsonObject, field: string): { content: string | ContentBlockParam[]; toolIds: Set<string> | null } {
  if (isSet(msg.function_call)) {
    throw new RequestMappingError(`${field}.function_call`, `${field}.function_call (deprecated) is not supported; use tool_calls`);
  }
  const calls = isSet(msg.tool_calls) ? msg.tool_calls : [];
  if (!Array.isArray(calls)) throw new RequestMappingError(`${field}.tool_calls`, `${field}.tool_calls must be an array`);
  const content = msg.content;
  if (!isSet(content) && calls.length === 0) {
    throw new RequestMappingError(`${field}.content`, `${field} has neither content nor tool_calls`);
  }
  const text: string | ContentBlockParam[] = !isSet(content)
    ? []
    : typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? assistantParts(content, `${field}.content`)
        : textContent(content, `${field}.content`); // throws the type error
  if (calls.length === 0) return { content: text, toolIds: null };
  const uses = calls.map((call, j) => toolUseBlock(call, `${field}.tool_calls[${j}]`));
  return { content: [...toBlocks(text), ...uses], toolIds: new Set(uses.map((u) => u.id)) };
}

export function convertMessages(value: unknown, warnings: Warnings): Conversation {
  if (!Array.isArray(value)) {
    throw new RequestMappingError('body.messages', value === undefined ? 'body.messages is missing' : 'body.messages must be an array');
  }
  const system: Array<string | TextBlockParam[]> = [];
  const turns: Turn[] = [];
  // Tool ids of the last assistant turn while tool messages may still answer it (system messages do not interrupt).
  let openToolIds: Set<string> | null = null;

  value.forEach((raw, index) => {
    const field = `body.messages[${index}]`;
    const msg = requireObject(raw, field);
    for (const key of Object.keys(msg)) {
      if (!MESSAGE_KEYS.has(key) && isSet(msg[key])) warnings.add(`body.messages[].${key}`, 'no Anthropic equivalent; dropped');
    }
    switch (msg.role) {
      case 'system':
      case 'developer':
        system.push(textContent(msg.content, `${field}.content`));
        return;
      case 'user':
        pushTurn(turns, { role: 'user', content: userContent(msg.content, `${field}.content`, warnings), index });
        openToolIds = null;
        return;
      case 'assistant': {
        const { content, toolIds } = assistantTurn(msg, field);
        pushTurn(turns, { role: 'assistant', content, index });
        openToolIds = toolIds;
        return;
      }
      case 'tool': {
        const block = toolResultBlock(msg, field);
        // Anthropic needs each tool_result right after the assistant turn holding its tool_use.
        if (!openToolIds?.has(block.tool_use_id)) {
          throw new RequestMappingError(
            `${field}.tool_call_id`,
            `tool message ${JSON.stringify(block.tool_use_id)} does not answer a tool call of the assistant message right before it`,
          );
        }
        pushTurn(turns, { role: 'user', content: [block], index });
        return;
      }
      default:
        throw new RequestMappingError(`${field}.role`, `message role ${JSON.stringify(msg.role)} is not supported for Anthropic`);
    }
  });

  if (turns.length === 0) throw new RequestMappingError('body.messages', 'body.messages has no user or assistant message');
  if (turns[0].role !== 'user') {
    throw new RequestMappingError(
      `body.messages[${turns[0].index}]`,
      'the first non-system message must be a user message (Anthropic conversations start with a user turn)',
    );
  }
  return { system: buildSystem(system), messages: turns.map(({ role, content }) => ({ role, content })) };
}
