/**
 * A part's transitions and the decisions taken on the way, as pure functions of the part and what just happened
 * (src/contract/part.ts draws the phases). No Temporal, no I/O: the job workflow applies them, and
 * test/unit/part-machine.test.ts tables them.
 */
import type { Batch } from '../../contract/batch';
import { isTerminal } from '../../contract/batch';
import type { PartFailure } from '../../contract/activities';
import type { Part, PartOutcome, PartPhase, PhaseName } from '../../contract/part';
import type { RecoverablePart } from '../../contract/recovery';
import type { BatchSpec, PartPlan, PartResults } from '../../contract/spec';

/** How long a provider batch may stay non-terminal past its completion window before it is cancelled. */
export const DEFAULT_DEADLINE_GRACE_MS = 6 * 3600_000;
/** After a cancel sent for that reason (or a cancel the caller asked for), how long before the part is given up. */
export const DEFAULT_CANCEL_GRACE_MS = 6 * 3600_000;
/** After a queue-limit refusal: the first wait, the longest, and how long a part keeps trying. */
export const QUEUE_LIMIT_RETRY = { initialMs: 60_000, maxMs: 30 * 60_000, giveUpAfterMs: 24 * 3600_000 };

const WINDOW_MS: Record<string, number> = { '24h': 86_400_000, '48h': 172_800_000, '72h': 259_200_000, '7d': 604_800_000 };

/** A completion window (`24h`, `7d`, ...) in ms; unknown spellings count as 24 hours. */
export function windowMs(window: string): number {
  if (WINDOW_MS[window] !== undefined) return WINDOW_MS[window];
  const m = /^(\d+)(h|d)$/.exec(window);
  if (m) return Number(m[1]) * (m[2] === 'h' ? 3600_000 : 86_400_000);
  return 86_400_000;
}

export function plannedPart(plan: PartPlan, round = 0): Part {
  return { ...plan, round, prepared: null, ticket: null, phase: 'planned' };
}

function withPhase(part: Part, phase: PartPhase): Part {
  const { index, path, requestCount, bytes, round, prepared, ticket } = part;
  const base = { index, path, requestCount, bytes, round, prepared, ticket };
  const extra: Partial<PartPlan> = {};
  if (part.firstRequest !== undefined) extra.firstRequest = part.firstRequest;
  if (part.estimatedTokens !== undefined) extra.estimatedTokens = part.estimatedTokens;
  const queueLimit = part.queueLimit !== undefined ? { queueLimit: part.queueLimit } : {};
  return { ...base, ...extra, ...queueLimit, ...phase } as Part;
}

export function planOf(part: Part): PartPlan {
  const plan: PartPlan = { index: part.index, path: part.path, requestCount: part.requestCount, bytes: part.bytes };
  if (part.firstRequest !== undefined) plan.firstRequest = part.firstRequest;
  if (part.estimatedTokens !== undefined) plan.estimatedTokens = part.estimatedTokens;
  return plan;
}

/** Phases in which a part still needs the workflow (its results are not written). */
export function unfinished(part: Part): boolean {
  return part.phase !== 'done';
}

/** Done at the provider, or never went there: nothing more will come of it but its results. */
export function ended(part: Part): boolean {
  return part.phase === 'downloading' || part.phase === 'done';
}

/** The part's provider batch as last seen, if it reached the provider. */
export function batchOf(part: Part): Batch | null {
  return part.phase === 'running' || part.phase === 'downloading' || part.phase === 'done' ? part.batch : null;
}

export function inPhase<P extends PhaseName>(part: Part, ...phases: P[]): part is Extract<Part, { phase: P }> {
  return (phases as PhaseName[]).includes(part.phase);
}

/** The deadline of a provider batch: its completion window from when it was created (or `expires_at`), plus the grace. */
export function deadlineOf(spec: BatchSpec, batch: Batch, nowMs: number): number {
  const graceMs = spec.deadlineGraceMs ?? DEFAULT_DEADLINE_GRACE_MS;
  const expires = safeSeconds(batch.expires_at);
  if (expires !== null) return expires * 1000 + graceMs;
  const created = safeSeconds(batch.created_at);
  return (created !== null ? created * 1000 : nowMs) + windowMs(spec.completionWindow) + graceMs;
}

function safeSeconds(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** The provider accepted the part: it runs until terminal (or its deadline). */
export function created(spec: BatchSpec, part: Part, batch: Batch, nowMs: number): Part {
  if (isTerminal(batch.status)) return withPhase(part, { phase: 'downloading', batch, outcome: null, gaveUp: false });
  return withPhase(part, { phase: 'running', batch, deadlineMs: deadlineOf(spec, batch, nowMs), cancelSentMs: null });
}

/** A newer snapshot of a running part's provider batch. */
export function observed(part: Extract<Part, { phase: 'running' }>, batch: Batch): Part {
  if (isTerminal(batch.status)) return withPhase(part, { phase: 'downloading', batch, outcome: null, gaveUp: false });
  return { ...part, batch };
}

export function submitting(part: Part): Part {
  return withPhase(part, { phase: 'submitting' });
}

export function admitting(part: Part, reason: string): Part {
  return withPhase(part, { phase: 'admitting', reason });
}

export function backToPlanned(part: Part): Part {
  return withPhase(part, { phase: 'planned' });
}

/** The part never reached the provider (or its create failed for good): every request gets `outcome`. */
export function settled(part: Part, outcome: PartOutcome): Part {
  return withPhase(part, { phase: 'downloading', batch: batchOf(part), outcome, gaveUp: false });
}

/** The part is given up while its provider batch may still hold results: its provider batch id stays in the batch. */
export function givenUp(part: Part, outcome: PartOutcome): Part {
  return withPhase(part, { phase: 'downloading', batch: batchOf(part), outcome, gaveUp: true });
}

export function cancelSent(part: Extract<Part, { phase: 'running' }>, nowMs: number, spec: BatchSpec): Part {
  return { ...part, cancelSentMs: nowMs, deadlineMs: nowMs + (spec.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS) };
}

export function written(part: Extract<Part, { phase: 'downloading' }>, results: PartResults): Part {
  const done: PartPhase = { phase: 'done', batch: part.batch, outcome: part.outcome, gaveUp: part.gaveUp, results };
  if (part.notice) done.notice = part.notice;
  return withPhase(part, done);
}

/** What to do with a running part whose deadline passed: cancel it first, give it up once a cancel did not end it. */
export function pastDeadline(part: Extract<Part, { phase: 'running' }>, spec: BatchSpec): { action: 'cancel' } | { action: 'give_up'; outcome: PartOutcome } {
  if (part.cancelSentMs === null) return { action: 'cancel' };
  const status = part.batch.status;
  return {
    action: 'give_up',
    outcome: {
      code: 'batch_expired',
      message: `provider batch ${part.batch.id} was still ${status} long after its completion window (${spec.completionWindow}) and a cancel: given up (\`anybatch recover ${spec.batchId}\` reads what it produced later)`,
    },
  };
}

/** The status of a running part cannot be read for good (404, 401, 403, or failing past the bound). */
export function unreadable(part: Extract<Part, { phase: 'running' }>, code: string, error: string, spec: BatchSpec): Part {
  return givenUp(part, {
    code: 'status_unreadable',
    message: `the status of provider batch ${part.batch.id} (part ${part.index}) cannot be read (${code}): ${error}; given up (\`anybatch recover ${spec.batchId}\` reads what it produced later)`,
  });
}

export type RefusalDecision =
  /** A queue limit: the same requests go again after a backoff, as a new part (a new idempotency key). */
  | { kind: 'requeue'; queued: { reason: string; attempts: number; sinceMs: number; untilMs: number } }
  /** Too large: cut into parts of at most `maxRequests`. */
  | { kind: 'resplit'; maxRequests: number }
  /** The failure stands: every request of the part gets `outcome`. */
  | { kind: 'settle'; outcome: PartOutcome };

/**
 * A part the provider refused at create, or failed as a whole (its batch `failed`): requeue after a queue limit
 * (with a doubling backoff from its first refusal, until the bound), re-split after a size failure, else settle.
 */
export function decideRefusal(
  part: Part,
  failure: PartFailure,
  outcome: PartOutcome,
  nowMs: number,
  backoff: { initialMs: number; maxMs: number; giveUpAfterMs: number } = QUEUE_LIMIT_RETRY,
): RefusalDecision {
  const attempts = (part.queueLimit?.attempts ?? 0) + 1;
  const sinceMs = part.queueLimit?.sinceMs ?? nowMs;
  if (failure.kind === 'queue_limit') {
    if (nowMs - sinceMs < backoff.giveUpAfterMs) {
      const untilMs = nowMs + Math.min(backoff.initialMs * 2 ** (attempts - 1), backoff.maxMs);
      return { kind: 'requeue', queued: { reason: failure.reason, attempts, sinceMs, untilMs } };
    }
    return {
      kind: 'settle',
      outcome: {
        code: 'queue_limit',
        message: `The provider refused part ${part.index} for its queue limit ${attempts} times over ${duration(nowMs - sinceMs)} (the bound is ${duration(backoff.giveUpAfterMs)}): ${failure.reason}`,
      },
    };
  }
  if (failure.kind === 'too_large' && part.requestCount > 1) {
    const maxRequests = failure.maxRequests !== null && failure.maxRequests > 0 && failure.maxRequests < part.requestCount ? failure.maxRequests : Math.ceil(part.requestCount / 2);
    return { kind: 'resplit', maxRequests };
  }
  return { kind: 'settle', outcome };
}

/** The copies of a part refused for a queue limit: new parts that wait until `untilMs`, carrying the refusals so far. */
export function requeued(parts: Part[], queued: { reason: string; attempts: number; sinceMs: number; untilMs: number }): Part[] {
  return parts.map((p) => ({ ...withPhase(p, { phase: 'queued', ...queued }), queueLimit: { attempts: queued.attempts, sinceMs: queued.sinceMs } }));
}

/** New parts replacing `part` (a re-split): they inherit its round and the position of its first request. */
export function replacements(part: Part, plans: PartPlan[]): Part[] {
  let first = part.firstRequest;
  return plans.map((plan) => {
    const next = plannedPart(plan, part.round);
    if (first !== undefined) {
      next.firstRequest = first;
      first += plan.requestCount;
    }
    return next;
  });
}

/** The next part index: above every part the batch has had. */
export function nextIndex(parts: readonly Part[]): number {
  return parts.reduce((max, p) => Math.max(max, p.index), -1) + 1;
}

export function duration(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/** The parts given up while their provider batch may still produce results: what a recovery reads later. */
export function recoverableParts(parts: readonly Part[]): RecoverablePart[] {
  return parts.flatMap((p) =>
    p.phase === 'done' && p.gaveUp && p.batch !== null && p.outcome !== null ? [{ plan: planOf(p), providerBatchId: p.batch.id, code: p.outcome.code }] : [],
  );
}
