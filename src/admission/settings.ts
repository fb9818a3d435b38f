/**
 * The worker's admission settings: `ANYBATCH_ADMISSION`, a JSON object of limits per provider (the operator's
 * tier), e.g. `{"openai": {"enqueuedTokens": 2000000}, "anthropic": {"requests": 200000}}`. They stand between
 * the provider's published limits (the catalog) and a batch's own `admission` option, which wins.
 */
import { budgetProblem, resolveBudget, type BudgetOverrides } from './budget';
import type { QueueLimits } from '../providers/catalog';

export const ADMISSION_ENV = 'ANYBATCH_ADMISSION';

/** The limits `ANYBATCH_ADMISSION` sets for `provider` (none when unset); a malformed value names what is wrong. */
export function workerOverrides(provider: string, raw: string | undefined): BudgetOverrides | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${ADMISSION_ENV} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${ADMISSION_ENV} must be a JSON object of limits per provider, e.g. {"openai": {"enqueuedTokens": 2000000}}.`);
  }
  const entry = (parsed as Record<string, unknown>)[provider];
  if (entry === undefined) return undefined;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${ADMISSION_ENV}.${provider} must be an object of limits.`);
  const problem = budgetProblem(entry as BudgetOverrides, `${ADMISSION_ENV}.${provider}`);
  if (problem) throw new Error(problem);
  return entry as BudgetOverrides;
}

/**
 * Whether a budget of enqueued tokens applies to a batch (its option, else `raw` = ANYBATCH_ADMISSION, else the
 * provider's published limits): only then are its parts' tokens counted at planning, a pass that costs about as much
 * as the split itself. A malformed `raw` counts as yes (admission then reports what is wrong).
 */
export function tokenBudgetApplies(provider: string, defaults: QueueLimits | undefined, batch: BudgetOverrides | undefined, raw: string | undefined): boolean {
  let fromWorker: BudgetOverrides | undefined;
  try {
    fromWorker = workerOverrides(provider, raw);
  } catch {
    return true;
  }
  return resolveBudget(defaults, { ...fromWorker, ...batch }).enqueuedTokens !== null;
}
