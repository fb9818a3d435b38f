/**
 * The Message Batch state machine as a pure function of the clock, like the OpenAI side's: requests are
 * processed in order at `rate` per second from creation; nothing is scheduled, every read derives the state.
 */
import type { ProcessingStatus } from './wire';

export interface MessageBatchTiming {
  /** Requests processed per second. */
  rate: number;
  /** Time spent in `canceling`. */
  cancellingMs: number;
}

/** The facts a batch's history follows from. */
export interface MessageBatchFacts {
  createdMs: number;
  expiresMs: number;
  total: number;
  cancelMs: number | null;
}

export interface MessageBatchState {
  status: ProcessingStatus;
  endedMs: number | null;
  /** Requests processed so far, in request order. */
  processed: number;
  /** What the requests never processed become once the batch has ended. */
  unprocessed: 'canceled' | 'expired' | null;
}

export function deriveMessageBatchState(facts: MessageBatchFacts, t: number, timing: MessageBatchTiming): MessageBatchState {
  const processedAt = (ms: number): number => Math.min(facts.total, Math.max(0, Math.floor(((ms - facts.createdMs) * timing.rate) / 1000)));
  if (facts.cancelMs !== null) {
    // A cancel is only accepted while in progress; it freezes processing where it was.
    const processed = processedAt(facts.cancelMs);
    const endedMs = facts.cancelMs + timing.cancellingMs;
    if (t < endedMs) return { status: 'canceling', endedMs: null, processed, unprocessed: null };
    return { status: 'ended', endedMs, processed, unprocessed: 'canceled' };
  }
  const doneMs = facts.createdMs + Math.ceil((facts.total * 1000) / timing.rate);
  if (t < Math.min(doneMs, facts.expiresMs)) return { status: 'in_progress', endedMs: null, processed: processedAt(t), unprocessed: null };
  if (facts.expiresMs < doneMs) return { status: 'ended', endedMs: facts.expiresMs, processed: processedAt(facts.expiresMs), unprocessed: 'expired' };
  return { status: 'ended', endedMs: doneMs, processed: facts.total, unprocessed: null };
}
