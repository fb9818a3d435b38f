/**
 * The Messages API checks a request's `params` at processing time (not at create): the reason Anthropic
 * would refuse them, as `<field>: <reason>`, or null when they would run.
 */
import { isPlainObject } from '../../kernel/http';

export function paramsProblem(params: Record<string, unknown>): string | null {
  const { model, max_tokens: maxTokens } = params;
  if (model === undefined) return 'model: Field required';
  if (typeof model !== 'string' || model.trim() === '') return 'model: Input should be a non-empty string';
  if (maxTokens === undefined) return 'max_tokens: Field required';
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens)) return 'max_tokens: Input should be a valid integer';
  if (maxTokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (params.stream === true) return 'stream: streaming is not supported in the Message Batches API';
  return messagesProblem(params.messages) ?? toolChoiceProblem(params.tools, params.tool_choice);
}

function messagesProblem(messages: unknown): string | null {
  if (messages === undefined) return 'messages: Field required';
  if (!Array.isArray(messages)) return 'messages: Input should be a valid list';
  if (messages.length === 0) return 'messages: at least one message is required';
  for (const [i, message] of messages.entries()) {
    if (!isPlainObject(message)) return `messages.${i}: Input should be a valid dictionary`;
    const role = message.role;
    if (role === 'system') return `messages.${i}.role: system messages are not accepted here; use the top-level \`system\` parameter`;
    if (role !== 'user' && role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i === 0 && role !== 'user') return 'messages.0.role: the first message must use the "user" role';
    if (i > 0 && role === (messages[i - 1] as Record<string, unknown>).role) {
      return `messages.${i}.role: roles must alternate between "user" and "assistant"`;
    }
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) {
      return `messages.${i}.content: Input should be a string or a list of content blocks`;
    }
  }
  return null;
}

/** A forced tool choice needs a tool to force; naming a tool needs that tool to exist. */
function toolChoiceProblem(tools: unknown, choice: unknown): string | null {
  if (!isPlainObject(choice) || (choice.type !== 'any' && choice.type !== 'tool')) return null;
  const names = Array.isArray(tools) ? tools.filter(isPlainObject).map((tool) => tool.name) : [];
  if (names.length === 0) return `tool_choice: tool_choice.type '${String(choice.type)}' requires \`tools\``;
  if (choice.type === 'tool' && !names.includes(choice.name)) return `tool_choice.name: no tool named ${JSON.stringify(choice.name)} in \`tools\``;
  return null;
}
