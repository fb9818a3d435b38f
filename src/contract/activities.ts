/** The activities a batch workflow calls. Types only: workflows import this file, never the implementation (src/activities/). */
import type { AnybatchBatch, Batch, BatchResultFiles } from './batch';
import type { PreparedInput } from './prepared';
import type { PartWaitResult } from './part';
import type { RecoverablePart, RecoveryReport } from './recovery';
import type { BatchSpec, PartPlan, PartResults } from './spec';

/** What a part's failure may mean (the provider's table: src/providers/batch-failures.ts). */
export type PartFailureKind = 'queue_limit' | 'too_large';

/** What the workflow asks of one retry round of `retryFailed` (src/activities/retry.ts). */
export interface RetryRound {
  /** The round being planned (1 for the first retry). */
  round: number;
  /** The results of the parts of the round before it. */
  from: PartResults[];
  /** The index of the round's first part: above every part the batch has. */
  firstIndex: number;
}

/** What a part's failure means (src/providers/batch-failures.ts). */
export interface PartFailure {
  /** `queue_limit`: wait and submit again; `too_large`: re-split; null: the part failed for good. */
  kind: PartFailureKind | null;
  /** The provider's words, for the status and the final error. */
  reason: string;
  /** The per-batch request limit the provider stated, if it did. */
  maxRequests: number | null;
}

export interface BatchActivities {
  /**
   * Announces the ended batch at `spec.webhook.url`: a Standard Webhooks event signed with the worker's
   * ANYBATCH_WEBHOOK_SECRET, the same id on every attempt (the receiver's idempotency key). Retried on 5xx, 408, 429
   * and no answer; a refused target (private, loopback, no secret) or a 4xx fails for good.
   */
  deliverWebhook?(spec: BatchSpec, batch: AnybatchBatch): Promise<{ status: number; id: string }>;
  /** Splits the staged input into parts that each fit one provider batch. */
  planParts(spec: BatchSpec): Promise<PartPlan[]>;
  /** Makes one part's input available to the provider (idempotent: a retry reuses the earlier upload). */
  uploadPart(spec: BatchSpec, part: PartPlan): Promise<PreparedInput>;
  /**
   * Creates one part's provider batch from what `uploadPart` left (idempotent: a retry finds the batch an earlier
   * attempt created). Workflows from before the typed reference pass the file id, or null for inline input.
   */
  createPartBatch(spec: BatchSpec, part: PartPlan, prepared: PreparedInput | string | null): Promise<Batch>;
  retrieveProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch>;
  cancelProviderBatch(spec: BatchSpec, providerBatchId: string): Promise<Batch>;
  /**
   * Writes one part's results: the provider's output and error lines, then an error line for every request
   * the provider did not report. With `outcome`, the provider is not asked: every request gets that error.
   */
  downloadPartResults(spec: BatchSpec, part: PartPlan, batch: Batch | null, outcome: { code: string; message: string } | null): Promise<PartResults>;
  /** Reads a part's failure (its failed provider batch, or its create's error) against the provider's table. */
  classifyPartFailure(spec: BatchSpec, batch: Batch | null, error: { code: string; message: string } | null): Promise<PartFailure>;
  /**
   * Makes new parts from a failed part's requests, from `firstIndex` on: one copy (`maxRequests` null, to submit
   * again after a queue limit), or parts of at most `maxRequests` requests (after a size failure).
   */
  repartitionPart(spec: BatchSpec, part: PartPlan, firstIndex: number, maxRequests: number | null): Promise<PartPlan[]>;
  /**
   * Plans one retry round: the last round's requests that failed with a retryable error (`spec.retryFailed.codes`),
   * copied from the staged input into new parts within the provider's limits; none when nothing is retryable.
   */
  planRetryRound(spec: BatchSpec, round: RetryRound): Promise<PartPlan[]>;
  /**
   * Merges the parts' files into the batch's `output.jsonl` and `errors.jsonl`. `superseded`: positions (in `parts`)
   * of parts a retry round followed, whose retryable error lines are left out (those requests were resubmitted).
   * `recoverable`: the parts given up with a provider batch, recorded for `anybatch recover` (src/contract/recovery.ts);
   * the batch's staged input is then kept.
   */
  mergeResults(spec: BatchSpec, parts: PartResults[], superseded?: number[], recoverable?: RecoverablePart[]): Promise<BatchResultFiles>;
  /** Asks Temporal to cancel this batch's workflow (a batch cancelled by signal then ends as a cancelled workflow). */
  requestWorkflowCancellation(batchId: string): Promise<void>;
}

/** What the job workflow asks of `awaitPart` (src/activities/wait.ts): wait for one running part to change. */
export interface AwaitPartRequest {
  part: number;
  /** The part's provider batch as last seen. */
  batch: Batch;
  /** Past this (workflow time, ms) the wait ends with `deadline`. */
  deadlineMs: number;
  /** Since when reading the status has been failing (null: the last read succeeded). */
  failingSinceMs: number | null;
  /** A change of counts alone ends the wait only this long after it began (a status change ends it at once). */
  progressIntervalMs: number;
}

/** The activities only the job workflow calls (src/activities/wait.ts). */
export interface JobActivities {
  /**
   * Reads the part's status and returns when something needs the workflow (terminal, a status change, a checkpoint
   * of progress, a failing read to show, an unreadable status, the deadline); otherwise fails with a benign "not yet",
   * retried by Temporal at the poll interval (an activity retry writes no history events).
   */
  awaitPart(spec: BatchSpec, request: AwaitPartRequest): Promise<PartWaitResult>;
  /** Writes one part's results from its provider batch (retried by the workflow for as long as the results are kept). */
  downloadPart(spec: BatchSpec, part: PartPlan, batch: Batch): Promise<PartResults>;
}

/** The recovery workflow's one step (src/activities/index.ts): read what given-up parts produced, rewrite the files. */
export interface RecoveryActivities {
  recoverResults(spec: BatchSpec): Promise<RecoveryReport>;
}
