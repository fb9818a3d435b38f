/**
 * The provider options of `createBatch('anthropic', ...)`: their type, their names and their checks. Read by the
 * client (src/options.ts) before anything starts; the adapter reads the same keys on the worker.
 */
import { UsageError } from '../../errors';

export interface AnthropicOptions {
  /**
   * `max_tokens` of a `/v1/chat/completions` request that sets neither `max_completion_tokens` nor `max_tokens`
   * (a positive integer; default 4096).
   */
  defaultMaxTokens?: number;
  /**
   * `response_format` of `/v1/chat/completions` requests: `native` (default) maps `json_schema` to Anthropic's
   * structured output and `json_object` to a system instruction; `reject` makes any format other than `text` a
   * validation error on its line.
   */
  responseFormat?: 'native' | 'reject';
  /**
   * Keep Anthropic's own result objects (a `Message` per success) as the response bodies instead of
   * translating them to `chat.completion`s (default false; always true for `/v1/messages` input).
   */
  rawResults?: boolean;
}

export const ANTHROPIC_RESPONSE_FORMATS = ['native', 'reject'] as const satisfies readonly NonNullable<AnthropicOptions['responseFormat']>[];

/** Every option name, once (the record makes the compiler check the list against the type). */
const NAMES: Record<keyof AnthropicOptions, true> = { defaultMaxTokens: true, responseFormat: true, rawResults: true };
export const ANTHROPIC_OPTION_NAMES = Object.keys(NAMES) as readonly (keyof AnthropicOptions)[];

/** Checks the values of the Anthropic options present in `options` (names are checked by the caller). */
export function parseAnthropicOptions(options: Record<string, unknown>): AnthropicOptions {
  const out: AnthropicOptions = {};
  const { defaultMaxTokens, responseFormat, rawResults } = options;
  if (defaultMaxTokens !== undefined) {
    if (typeof defaultMaxTokens !== 'number' || !Number.isInteger(defaultMaxTokens) || defaultMaxTokens < 1) {
      throw new UsageError(`defaultMaxTokens must be a positive integer (got ${JSON.stringify(defaultMaxTokens)}).`);
    }
    out.defaultMaxTokens = defaultMaxTokens;
  }
  if (responseFormat !== undefined) {
    if (!(ANTHROPIC_RESPONSE_FORMATS as readonly unknown[]).includes(responseFormat)) {
      throw new UsageError(`responseFormat must be ${ANTHROPIC_RESPONSE_FORMATS.map((f) => `"${f}"`).join(' or ')} (got ${JSON.stringify(responseFormat)}).`);
    }
    out.responseFormat = responseFormat as AnthropicOptions['responseFormat'];
  }
  if (rawResults !== undefined) {
    if (typeof rawResults !== 'boolean') throw new UsageError(`rawResults must be true or false (got ${JSON.stringify(rawResults)}).`);
    out.rawResults = rawResults;
  }
  return out;
}
