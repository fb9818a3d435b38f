/**
 * Which provider failures of a part are not the requests' fault and are worth submitting again: "queue limit" (the
 * provider's queue for the organization or model is full: wait, then resubmit) and "too large" (the part is over the
 * provider's real per-batch limit: re-split it). Each provider's codes are its own fact (`failures` in its folder's
 * `limits.ts`); this reads them. Pure functions (no SDK imports): the worker classifies; the workflow sees the verdict.
 *
 * A part's failure is read where the provider reports it: the failed batch's `errors.data[].code` (OpenAI's
 * `token_limit_exceeded`, `too_many_tasks`), or the failure of the create call (its type, e.g. a 429 whose retries
 * ran out, `provider_rate_limited`, and its message).
 */
import type { Batch } from '../contract/batch';
import type { FailureCodes } from './capabilities';
import { CREATE_ONLY_FAILURE_CODES } from './capabilities';
import { isProviderName, PROVIDERS } from './catalog';

import type { PartFailureKind } from '../contract/activities';

export type { PartFailureKind };

/** The failure codes of `provider`'s batches, from its capabilities (each folder's `limits.ts`). */
function codesOf(provider: string): FailureCodes {
  return isProviderName(provider) ? PROVIDERS[provider].failures : CREATE_ONLY_FAILURE_CODES;
}

/** Failure types of a create call (src/activities/failures.ts) that mean the provider's queue or rate limit. */
const QUEUE_LIMIT_CREATE_TYPES = ['provider_rate_limited'];
/** Failure types of a create call whose message may say the part is too large. */
const REFUSED_CREATE_TYPES = ['provider_invalid_request'];

/** What a part's failure means: the provider's failed batch, or the create call's failure (`{ code, message }`). */
export function partFailureKind(provider: string, failure: { batch: Batch | null; error: { code: string; message: string } | null }): PartFailureKind | null {
  const table = codesOf(provider);
  if (failure.batch?.status === 'failed') {
    const codes = (failure.batch.errors?.data ?? []).map((e) => e.code ?? '');
    if (codes.some((c) => table.queueLimit.includes(c))) return 'queue_limit';
    if (codes.some((c) => table.tooLarge.includes(c))) return 'too_large';
    return null;
  }
  const error = failure.error;
  if (!error) return null;
  if (QUEUE_LIMIT_CREATE_TYPES.includes(error.code)) return 'queue_limit';
  const message = error.message.toLowerCase();
  if (REFUSED_CREATE_TYPES.includes(error.code) && table.tooLargeMessages.some((m) => message.includes(m))) return 'too_large';
  return null;
}

/** The per-batch request limit a provider's message states (`... more than the maximum of 10 per batch`), if any. */
export function statedMaxRequests(failure: { batch: Batch | null; error: { code: string; message: string } | null }): number | null {
  const messages = [...(failure.batch?.errors?.data ?? []).map((e) => e.message ?? ''), failure.error?.message ?? ''];
  for (const message of messages) {
    const m = /maximum of ([\d,]+)/i.exec(message) ?? /at most ([\d,]+) requests/i.exec(message) ?? /batch holds at most ([\d,]+)/i.exec(message);
    if (m) {
      const n = Number(m[1].replace(/,/g, ''));
      if (Number.isInteger(n) && n > 0) return n;
    }
  }
  return null;
}

/** The provider's own words for a queue-limit failure, for the part's status and its final error. */
export function failureReason(failure: { batch: Batch | null; error: { code: string; message: string } | null }): string {
  const e = failure.batch?.errors?.data?.[0];
  if (e) return `${e.code ?? 'error'}: ${e.message ?? ''}`.trim();
  return failure.error ? `${failure.error.code}: ${failure.error.message}` : 'the provider refused the batch';
}
