/**
 * The batch state machine as a pure function of the clock: given what happened at creation (and a cancel,
 * if any) it says where a batch stands at time `t`. Nothing is scheduled; every read derives the state.
 */
import type { InputCheck, RequestPlan } from './input-check';
import type { BatchErrorJson, BatchStatus, RequestCountsJson, UsageJson } from './wire';

export interface Timing {
  validationMs: number;
  finalizingMs: number;
  cancellingMs: number;
  /** Requests run per second once in progress. */
  rate: number;
  /** How long a validated batch waits `queued` before it runs (a dialect with `queued`: Cerebras); absent: 0. */
  queuedMs?: number;
}

/** When a batch validated at `validatedMs` starts running its requests. */
export function runStartMs(validatedMs: number, timing: Timing): number {
  return validatedMs + (timing.queuedMs ?? 0);
}

/** The facts a batch's history follows from. */
export interface LifecycleFacts {
  createdMs: number;
  expiresMs: number;
  /** Result of the input validation; null while it is still running. */
  check: InputCheck | null;
  cancelMs: number | null;
}

export type UnrunCode = 'batch_cancelled' | 'batch_expired';

export interface BatchState {
  status: BatchStatus;
  inProgressMs: number | null;
  finalizingMs: number | null;
  completedMs: number | null;
  failedMs: number | null;
  expiredMs: number | null;
  cancellingMs: number | null;
  cancelledMs: number | null;
  /** The requests this state accounts for; null before validation or when the input was invalid. */
  plan: RequestPlan | null;
  /** Requests already run, in file order. */
  processed: number;
  /** Why the remaining requests never ran, once the batch ended without running them all. */
  unrun: UnrunCode | null;
  errors: BatchErrorJson[] | null;
}

/** When a validated batch runs: requests spread evenly from `startMs` at `rate` per second. */
function schedule(plan: RequestPlan, startMs: number, rate: number): { doneMs: number; processedAt(t: number): number } {
  return {
    doneMs: startMs + Math.ceil((plan.total * 1000) / rate),
    processedAt: (t) => Math.min(plan.total, Math.max(0, Math.floor(((t - startMs) * rate) / 1000))),
  };
}

const BLANK: Omit<BatchState, 'status'> = {
  inProgressMs: null,
  finalizingMs: null,
  completedMs: null,
  failedMs: null,
  expiredMs: null,
  cancellingMs: null,
  cancelledMs: null,
  plan: null,
  processed: 0,
  unrun: null,
  errors: null,
};

/** True when the state at `t` cannot be told without the validation result. */
export function needsCheck(facts: LifecycleFacts, t: number, timing: Timing): boolean {
  if (facts.check !== null) return false;
  const cancelledBy = facts.cancelMs === null ? Infinity : facts.cancelMs + timing.cancellingMs;
  return t >= Math.min(facts.createdMs + timing.validationMs, facts.expiresMs, cancelledBy);
}

export function deriveState(facts: LifecycleFacts, t: number, timing: Timing): BatchState {
  const validatedMs = facts.createdMs + timing.validationMs;
  const plan = facts.check?.ok ? facts.check.plan : null;
  const validating: BatchState = { ...BLANK, status: 'validating' };

  if (facts.cancelMs !== null) return cancelState(facts, t, timing, plan);

  // Expiry before validation ends: nothing ran, every valid request is reported expired.
  if (facts.expiresMs <= validatedMs && t >= facts.expiresMs) {
    if (facts.check === null) return validating;
    return { ...BLANK, status: 'expired', expiredMs: facts.expiresMs, plan, unrun: 'batch_expired' };
  }
  if (t < validatedMs || facts.check === null) return validating;
  if (!facts.check.ok) return { ...BLANK, status: 'failed', failedMs: validatedMs, errors: facts.check.errors };

  const startMs = runStartMs(validatedMs, timing);
  const run = schedule(facts.check.plan, startMs, timing.rate);
  const running = { ...BLANK, inProgressMs: startMs, plan };
  if (facts.expiresMs < run.doneMs && t >= facts.expiresMs) {
    const started = facts.expiresMs >= startMs;
    return { ...running, inProgressMs: started ? startMs : null, status: 'expired', expiredMs: facts.expiresMs, processed: run.processedAt(facts.expiresMs), unrun: 'batch_expired' };
  }
  if (t < startMs) return { ...BLANK, status: 'queued', plan };
  if (t < run.doneMs) return { ...running, status: 'in_progress', processed: run.processedAt(t) };
  const total = facts.check.plan.total;
  if (t < run.doneMs + timing.finalizingMs) return { ...running, status: 'finalizing', finalizingMs: run.doneMs, processed: total };
  return { ...running, status: 'completed', finalizingMs: run.doneMs, completedMs: run.doneMs + timing.finalizingMs, processed: total };
}

/** A cancel is only accepted while validating, in progress or finalizing, so it freezes the run where it was. */
function cancelState(facts: LifecycleFacts, t: number, timing: Timing, plan: RequestPlan | null): BatchState {
  const cancelMs = facts.cancelMs as number;
  const validatedMs = facts.createdMs + timing.validationMs;
  const startMs = runStartMs(validatedMs, timing);
  const wasRunning = plan !== null && cancelMs >= validatedMs;
  const started = wasRunning && cancelMs >= startMs;
  const run = plan && started ? schedule(plan, startMs, timing.rate) : null;
  const frozen: BatchState = {
    ...BLANK,
    status: 'cancelling',
    inProgressMs: started ? startMs : null,
    finalizingMs: run && cancelMs >= run.doneMs ? run.doneMs : null,
    cancellingMs: cancelMs,
    plan: wasRunning ? plan : null,
    processed: run ? run.processedAt(cancelMs) : 0,
  };
  const cancelledMs = cancelMs + timing.cancellingMs;
  if (t < cancelledMs || facts.check === null) return frozen;
  return { ...frozen, status: 'cancelled', cancelledMs, plan, unrun: 'batch_cancelled' };
}

/** `request_counts` of a state: requests never run count as failed once the batch has ended. */
export function requestCounts(state: BatchState): RequestCountsJson {
  const plan = state.plan;
  if (!plan) return { total: 0, completed: 0, failed: 0 };
  const failedRun = plan.failed[state.processed];
  const unrun = state.unrun ? plan.total - state.processed : 0;
  return { total: plan.total, completed: state.processed - failedRun, failed: failedRun + unrun };
}

/** Token usage of the requests run so far; null until one has run. */
export function usage(state: BatchState): UsageJson | null {
  if (!state.plan || state.processed === 0) return null;
  const input = state.plan.inputTokens[state.processed];
  const output = state.plan.outputTokens[state.processed];
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}
