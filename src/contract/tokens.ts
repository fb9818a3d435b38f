/**
 * Token estimates as a part plan carries them (workflow-safe: no imports, plain data in history).
 */

/** Estimated tokens of a set of requests (one request, one part, a whole input). */
export interface TokenEstimate {
  /** Input tokens: message texts, system prompt, tool definitions, plus the chat format's per-message overhead. */
  input: number;
  /** The sum of the requests' output caps (max_tokens / max_completion_tokens / max_output_tokens) where set. */
  maxOutput: number;
  /** Requests that set no output cap: their output is unbounded, so `maxOutput` is a floor when this is not 0. */
  withoutMaxOutput: number;
}

export const NO_TOKENS: TokenEstimate = { input: 0, maxOutput: 0, withoutMaxOutput: 0 };

export function addEstimates(a: TokenEstimate, b: TokenEstimate): TokenEstimate {
  return { input: a.input + b.input, maxOutput: a.maxOutput + b.maxOutput, withoutMaxOutput: a.withoutMaxOutput + b.withoutMaxOutput };
}
