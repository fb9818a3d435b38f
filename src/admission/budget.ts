/**
 * The pure budget logic of admission control: what a budget allows, what its holders use, and which waiting
 * requests the next grants go to (first in, first out). No I/O and no Node imports: the admission workflow runs
 * it, and unit tests check it directly.
 */
import type { QueueLimits } from '../providers/capabilities';
import type { Budget, BudgetOverrides } from '../contract/admission';

export type { Budget, BudgetOverrides };

/** One part asking to go out: its id (`<workflow id>/<part>`), the workflow holding it, and what it will use. */
export interface AdmissionRequest {
  id: string;
  holder: string;
  part: number;
  tokens: number;
  requests: number;
}

/** A request that was granted, while it holds its share of the budget. */
export interface Holding extends AdmissionRequest {
  /** Workflow time (ms) of the grant. */
  grantedAt: number;
}

export interface Usage {
  enqueuedTokens: number;
  requests: number;
  batches: number;
}

const MEASURES = ['enqueuedTokens', 'requests', 'batches'] as const;
type Measure = (typeof MEASURES)[number];

const LABELS: Record<Measure, string> = { enqueuedTokens: 'enqueued tokens', requests: 'requests in flight', batches: 'batches in flight' };

/** The budget in force: each override where given (null lifts the limit), else the provider's published limit, else none. */
export function resolveBudget(defaults: QueueLimits | undefined, overrides: BudgetOverrides | undefined): Budget {
  const pick = (measure: Measure): number | null => {
    const override = overrides?.[measure];
    if (override !== undefined) return override;
    return defaults?.[measure] ?? null;
  };
  return { enqueuedTokens: pick('enqueuedTokens'), requests: pick('requests'), batches: pick('batches') };
}

/** A budget that limits nothing: no admission workflow is needed. */
export function isUnlimited(budget: Budget): boolean {
  return MEASURES.every((measure) => budget[measure] === null);
}

/** The problem with a budget given as settings (a measure that is not null or a positive integer), or null. */
export function budgetProblem(overrides: BudgetOverrides, where: string): string | null {
  for (const [measure, value] of Object.entries(overrides)) {
    if (!(MEASURES as readonly string[]).includes(measure)) return `${where}: unknown admission limit "${measure}" (known: ${MEASURES.join(', ')}).`;
    if (value !== null && value !== undefined && !(Number.isInteger(value) && value > 0)) {
      return `${where}.${measure} must be a positive integer or null (no limit), got ${JSON.stringify(value)}.`;
    }
  }
  return null;
}

export function usageOf(holders: readonly AdmissionRequest[]): Usage {
  return holders.reduce((sum, h) => ({ enqueuedTokens: sum.enqueuedTokens + h.tokens, requests: sum.requests + h.requests, batches: sum.batches + 1 }), {
    enqueuedTokens: 0,
    requests: 0,
    batches: 0,
  });
}

function demandOf(request: AdmissionRequest): Usage {
  return { enqueuedTokens: request.tokens, requests: request.requests, batches: 1 };
}

/** Why `request` cannot go out now (the first measure it would exceed, with the numbers), or null when it fits. */
export function overflow(budget: Budget, usage: Usage, request: AdmissionRequest): string | null {
  const demand = demandOf(request);
  for (const measure of MEASURES) {
    const limit = budget[measure];
    if (limit === null || usage[measure] + demand[measure] <= limit) continue;
    const n = (x: number): string => x.toLocaleString('en-US');
    return `${LABELS[measure]}: ${n(usage[measure])} of ${n(limit)} in use, this part needs ${n(demand[measure])}`;
  }
  return null;
}

/**
 * The requests to grant now, first in first out: the head of the queue goes out while it fits; the first that
 * does not fit stops the queue (no overtaking, so a big part is not starved by small ones). A request that does not
 * fit when nothing is in flight (it is bigger than the whole budget) goes out alone rather than waiting forever.
 */
export function nextGrants(budget: Budget, queue: readonly AdmissionRequest[], holders: readonly AdmissionRequest[]): AdmissionRequest[] {
  const granted: AdmissionRequest[] = [];
  let usage = usageOf(holders);
  for (const request of queue) {
    const alone = holders.length === 0 && granted.length === 0;
    if (overflow(budget, usage, request) !== null && !alone) break;
    granted.push(request);
    const demand = demandOf(request);
    usage = { enqueuedTokens: usage.enqueuedTokens + demand.enqueuedTokens, requests: usage.requests + demand.requests, batches: usage.batches + 1 };
  }
  return granted;
}
