/** The provider options of `createBatch('openai', ...)`: none today (every option of OpenAI's is a common one). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface OpenAIOptions {}

export const OPENAI_OPTION_NAMES: readonly (keyof OpenAIOptions)[] = [];

/** Checks the values of the OpenAI options present in `options` (names are checked by the caller). */
export function parseOpenAIOptions(_options: Record<string, unknown>): OpenAIOptions {
  return {};
}
