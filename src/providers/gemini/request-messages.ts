/** OpenAI `messages` -> Gemini `systemInstruction` + `contents` (roles, merged turns, function calls and responses). */
import type { Content, Part, Role } from './types';
import { SKIP_THOUGHT_SIGNATURE, assistantParts, functionCallPart, functionResponsePart, texts, userParts } from './request-content';
import { RequestMappingError, Warnings, isSet, requireObject, requireString } from './request-support';

export interface Conversation {
  systemInstruction?: Content;
  contents: Content[];
}

/** Message keys we translate (or reject); any other set key is dropped with a warning. */
const MESSAGE_KEYS = new Set(['role', 'content', 'tool_calls', 'tool_call_id', 'function_call']);

interface Turn {
  role: Role;
  parts: Part[];
  /** Index of the OpenAI message that opened the turn, for error fields. */
  index: number;
}

/** The tool calls of the last assistant message, while tool messages may still answer them. */
interface OpenCalls {
  index: number;
  names: Map<string, string>;
  answered: Set<string>;
}

/** Appends parts as a turn, merging them into the previous turn when the role is the same (Gemini alternates roles). */
function pushTurn(turns: Turn[], role: Role, parts: Part[], index: number): void {
  // A message without parts (empty text) adds nothing: Gemini refuses empty parts and empty turns.
  if (parts.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.parts.push(...parts);
  else turns.push({ role, parts, index });
}

/** Gemini wants one function response per function call, right after the call's turn. */
function closeCalls(open: OpenCalls | null): void {
  if (!open || open.answered.size === open.names.size) return;
  const missing = [...open.names.keys()].filter((id) => !open.answered.has(id));
  throw new RequestMappingError(
    `body.messages[${open.index}].tool_calls`,
    `tool call${missing.length > 1 ? 's' : ''} ${missing.map((id) => JSON.stringify(id)).join(', ')} ${missing.length > 1 ? 'have' : 'has'} no tool message answering ${missing.length > 1 ? 'them' : 'it'} (Gemini needs a function response for every function call, right after it)`,
  );
}

function assistantTurn(msg: Record<string, unknown>, field: string, index: number): { parts: Part[]; open: OpenCalls | null } {
  if (isSet(msg.function_call)) {
    throw new RequestMappingError(`${field}.function_call`, `${field}.function_call (deprecated) is not supported; use tool_calls`);
  }
  const calls = isSet(msg.tool_calls) ? msg.tool_calls : [];
  if (!Array.isArray(calls)) throw new RequestMappingError(`${field}.tool_calls`, `${field}.tool_calls must be an array`);
  if (!isSet(msg.content) && calls.length === 0) {
    throw new RequestMappingError(`${field}.content`, `${field} has neither content nor tool_calls`);
  }
  const parts = assistantParts(msg.content, `${field}.content`);
  if (calls.length === 0) return { parts, open: null };
  const names = new Map<string, string>();
  calls.forEach((raw, j) => {
    const call = functionCallPart(raw, `${field}.tool_calls[${j}]`);
    if (names.has(call.id)) {
      throw new RequestMappingError(`${field}.tool_calls[${j}].id`, `tool call id ${JSON.stringify(call.id)} is used twice in ${field}`);
    }
    names.set(call.id, call.name);
    // Gemini 3 checks the signature of the first function call of each model step.
    if (j === 0 && !call.signed) call.part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
    parts.push(call.part);
  });
  return { parts, open: { index, names, answered: new Set() } };
}

export function convertMessages(value: unknown, warnings: Warnings): Conversation {
  if (!Array.isArray(value)) {
    throw new RequestMappingError('body.messages', value === undefined ? 'body.messages is missing' : 'body.messages must be an array');
  }
  const system: Part[] = [];
  const turns: Turn[] = [];
  let open: OpenCalls | null = null;

  value.forEach((raw, index) => {
    const field = `body.messages[${index}]`;
    const msg = requireObject(raw, field);
    for (const key of Object.keys(msg)) {
      if (!MESSAGE_KEYS.has(key) && isSet(msg[key])) warnings.add(`body.messages[].${key}`, 'no Gemini equivalent; dropped');
    }
    switch (msg.role) {
      case 'system':
      case 'developer':
        // Hoisted wherever they are; they do not interrupt a tool call and its responses.
        for (const text of texts(msg.content, `${field}.content`)) if (text !== '') system.push({ text });
        return;
      case 'user':
        closeCalls(open);
        open = null;
        pushTurn(turns, 'user', userParts(msg.content, `${field}.content`, warnings), index);
        return;
      case 'assistant': {
        closeCalls(open);
        const turn = assistantTurn(msg, field, index);
        pushTurn(turns, 'model', turn.parts, index);
        open = turn.open;
        return;
      }
      case 'tool': {
        const id = requireString(msg.tool_call_id, `${field}.tool_call_id`);
        const name = open?.names.get(id);
        if (!open || name === undefined) {
          throw new RequestMappingError(
            `${field}.tool_call_id`,
            `tool message ${JSON.stringify(id)} does not answer a tool call of the assistant message right before it`,
          );
        }
        if (open.answered.has(id)) throw new RequestMappingError(`${field}.tool_call_id`, `tool call ${JSON.stringify(id)} is answered twice`);
        open.answered.add(id);
        // Function responses go in a user turn; the name is the answered call's.
        pushTurn(turns, 'user', [functionResponsePart(name, msg.content, `${field}.content`)], index);
        return;
      }
      default:
        throw new RequestMappingError(`${field}.role`, `message role ${JSON.stringify(msg.role)} is not supported for Gemini`);
    }
  });
  closeCalls(open);

  if (turns.length === 0) throw new RequestMappingError('body.messages', 'body.messages has no user or assistant message with content');
  const first = turns[0];
  if (first.role === 'model' && first.parts.some((p) => p.functionCall)) {
    throw new RequestMappingError(
      `body.messages[${first.index}]`,
      'the conversation starts with an assistant tool call; Gemini needs a user turn before a function call',
    );
  }
  const conversation: Conversation = { contents: turns.map(({ role, parts }) => ({ role, parts })) };
  if (system.length > 0) conversation.systemInstruction = { parts: system };
  return conversation;
}
