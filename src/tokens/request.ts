/**
 * The token estimate of one request body: the text it sends (messages, system prompt, instructions, tool
 * definitions and calls, embedding or completion input) counted by the model's counter, plus the chat format's
 * overhead, and the most output it may produce (its output cap times `n`). Handles OpenAI's chat completions,
 * responses, completions and embeddings bodies and Anthropic's native `/v1/messages` params; for any other
 * shape the body's JSON is counted, so an estimate is never missing.
 *
 * Non-text inputs are counted as OpenAI prices them at most: an image part as 765 tokens (85 with
 * `detail: "low"`), an audio or file part as its base64 text at 4 characters a token (an upper bound).
 */
import type { TokenCounter } from './encoding';
import type { TokenEstimate } from '../contract/tokens';

/** OpenAI's chat format (its cookbook's count): each message costs 3 tokens besides its role and text (4 with a name), and the reply is primed with 3. */
const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;
const IMAGE_TOKENS = 765;
const LOW_DETAIL_IMAGE_TOKENS = 85;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Counts a request's pieces of text (each on its own, as the chat format separates them) and the tokens without text. */
class Collector {
  fixed = 0;

  constructor(private readonly counter: TokenCounter) {}

  text(value: unknown): void {
    if (typeof value === 'string') this.fixed += this.counter.count(value);
    else if (value !== undefined && value !== null) this.fixed += this.counter.count(JSON.stringify(value));
  }

  tokens(): number {
    return this.fixed;
  }

  /** A message's or block's content: a string, or a list of parts (text, image, audio, file, tool use/result). */
  content(content: unknown): void {
    if (typeof content === 'string') return this.text(content);
    if (!Array.isArray(content)) return this.text(content);
    for (const part of content) this.part(part);
  }

  private part(part: unknown): void {
    if (typeof part === 'string') return this.text(part);
    if (!isObject(part)) return;
    if (typeof part.text === 'string') return this.text(part.text);
    const type = typeof part.type === 'string' ? part.type : '';
    if (type === 'image_url' || type === 'input_image' || type === 'image') {
      const detail = isObject(part.image_url) ? part.image_url.detail : part.detail;
      this.fixed += detail === 'low' ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
      return;
    }
    if (type === 'input_audio' || type === 'input_file' || type === 'file' || type === 'document') {
      this.fixed += Math.ceil(JSON.stringify(part).length / 4);
      return;
    }
    if (type === 'tool_use') return this.text({ name: part.name, input: part.input });
    if (type === 'tool_result') return this.content(part.content);
    if (type === 'thinking') return this.text(part.thinking);
    this.text(part);
  }
}

function chatMessages(c: Collector, messages: unknown): void {
  if (!Array.isArray(messages)) return;
  for (const message of messages) {
    if (!isObject(message)) continue;
    c.fixed += PER_MESSAGE;
    c.text(message.role);
    if (typeof message.name === 'string') {
      c.fixed += PER_NAME;
      c.text(message.name);
    }
    c.content(message.content);
    if (Array.isArray(message.tool_calls)) for (const call of message.tool_calls) if (isObject(call)) c.text(call.function ?? call);
    if (isObject(message.function_call)) c.text(message.function_call);
  }
  c.fixed += REPLY_PRIMING;
}

/** Responses API `input`: a string or a list of items (messages, function calls and their outputs). */
function responseInput(c: Collector, input: unknown): void {
  if (!Array.isArray(input)) return c.text(input);
  for (const item of input) {
    if (!isObject(item)) {
      c.text(item);
      continue;
    }
    c.fixed += PER_MESSAGE;
    if ('content' in item) c.content(item.content);
    else if (item.type === 'function_call') c.text({ name: item.name, arguments: item.arguments });
    else if (item.type === 'function_call_output') c.text(item.output);
    else c.text(item);
  }
}

/** Embedding `input`: a string, strings, a token list (counted as is) or token lists. */
function embeddingInput(c: Collector, input: unknown): void {
  if (!Array.isArray(input)) return c.text(input);
  for (const item of input) {
    if (typeof item === 'number') c.fixed += 1;
    else if (Array.isArray(item) && item.every((x) => typeof x === 'number')) c.fixed += item.length;
    else c.text(item);
  }
}

/** The request's output cap (0 for embeddings and moderations, which produce none), or null when it sets none. */
function outputCap(endpoint: string, body: Json): number | null {
  if (endpoint === '/v1/embeddings' || endpoint === '/v1/moderations') return 0;
  const cap = body.max_completion_tokens ?? body.max_output_tokens ?? body.max_tokens;
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap < 0) return null;
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? body.n : 1;
  return Math.floor(cap) * n;
}

/** The estimate of one request body (`body`, or a native line's `params`) sent to `endpoint`. */
export function estimateRequest(body: Json, endpoint: string, counter: TokenCounter): TokenEstimate {
  const c = new Collector(counter);
  if (Array.isArray(body.messages)) {
    // Chat completions, and Anthropic's messages (whose system prompt is a field, not a message).
    c.content(body.system);
    chatMessages(c, body.messages);
  } else if (endpoint === '/v1/responses' || 'instructions' in body) {
    c.text(body.instructions);
    responseInput(c, body.input);
  } else if (endpoint === '/v1/embeddings' || endpoint === '/v1/moderations') {
    embeddingInput(c, body.input);
  } else if ('prompt' in body) {
    c.content(body.prompt);
  } else {
    const { model: _model, ...rest } = body;
    c.text(rest);
  }
  c.text(body.tools);
  c.text(body.functions);
  if (isObject(body.response_format) && body.response_format.type === 'json_schema') c.text(body.response_format.json_schema);
  if (isObject(body.text) && isObject(body.text.format)) c.text(body.text.format);
  const cap = outputCap(endpoint, body);
  return { input: c.tokens(), maxOutput: cap ?? 0, withoutMaxOutput: cap === null ? 1 : 0 };
}
