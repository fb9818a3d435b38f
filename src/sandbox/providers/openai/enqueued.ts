/**
 * OpenAI's enqueued token limit (the `enqueuedTokenLimit` setting): per model, the prompt tokens of batches
 * still `validating`, `in_progress` or `finalizing` may not exceed the limit, and a new batch that would go over
 * fails validation with `token_limit_exceeded`, in OpenAI's words. Pure: the store says which batches were
 * enqueued and when each stopped counting.
 */
import type { InputCheck } from './input-check';
import type { BatchErrorJson, BatchStatus } from './wire';

/** The statuses whose batches hold their tokens. */
export const ENQUEUED_STATUSES: readonly BatchStatus[] = ['validating', 'queued', 'in_progress', 'finalizing'];

/** The organization the sandbox names in its messages. */
export const SANDBOX_ORGANIZATION = 'org-sandbox';

/** OpenAI's batch error, as the real API words it (the limit with thousands separators: "Limit: 2,000,000"). */
export function tokenLimitExceeded(model: string, limit: number): BatchErrorJson {
  return {
    code: 'token_limit_exceeded',
    message: `Enqueued token limit reached for ${model} in organization ${SANDBOX_ORGANIZATION}. Limit: ${limit.toLocaleString('en-US')} enqueued tokens. Please try again once some in_progress batches have been completed.`,
    param: null,
    line: null,
  };
}

/**
 * The check of a new batch once its input is valid: refused for the first of its models (in file order) whose
 * tokens, added to `enqueuedOf(model)` (the tokens the model's other batches hold), exceed `limit`.
 */
export function admitTokens(check: InputCheck, limit: number, enqueuedOf: (model: string) => number): InputCheck {
  if (!check.ok) return check;
  for (const [model, tokens] of check.plan.enqueuedTokens) {
    if (enqueuedOf(model) + tokens > limit) return { ok: false, errors: [tokenLimitExceeded(model, limit)] };
  }
  return check;
}
