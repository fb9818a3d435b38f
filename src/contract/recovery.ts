/**
 * Recovering a batch's given-up parts (`anybatch recover ID`, `recoverBatch()`): the types the client, the recovery
 * workflow and its activity share. Types and names only.
 *
 * A part is given up when its status cannot be read for good (a 404, 401 or 403), when its results cannot be read
 * for as long as the provider keeps them, or past its deadline. Its requests are then written to errors.jsonl with
 * the part's outcome code, the batch ends `failed` (or `expired`), and the merge leaves a recovery manifest beside
 * the results (`recovery.json`) and keeps the batch's staged input. A recovery reads what those provider batches
 * produced since and rewrites the two result files: each request of a recovered part is replaced once (its error
 * line out, its real line in), so every `custom_id` stays in exactly one line of the two files.
 */
import type { BatchSpec, PartPlan } from './spec';

/** The workflow type of a recovery; its workflow id is `recoveryWorkflowId(batchId)`. */
export const RECOVER_WORKFLOW_TYPE = 'recoverJob';

/** A recovery's workflow id: never a batch id (batch ids hold no `/`), one per batch, reusable once ended. */
export function recoveryWorkflowId(batchId: string): string {
  return `${batchId}/recover`;
}

/** One given-up part, as the merge records it for a later recovery. */
export interface RecoverablePart {
  plan: PartPlan;
  /** The provider batch it ran as (still at the provider, perhaps finished since). */
  providerBatchId: string;
  /** The error code its requests were written with (`status_unreadable`, `results_unavailable`, `batch_expired`). */
  code: string;
}

/** The recovery manifest (`results/<batch>/recovery.json`): the parts still to recover. */
export interface RecoveryManifest {
  version: 1;
  batchId: string;
  parts: RecoverablePart[];
  /** A part whose rewritten result files are staged under `.recover/` and are being copied into place. */
  committing?: { index: number; outputCount: number; errorsCount: number } | null;
}

/** What happened to one part in a recovery. */
export interface RecoveredPart {
  index: number;
  provider_batch_id: string;
  /**
   * `recovered`: its requests' lines were replaced by what the provider produced; `not_finished`: the provider batch
   * is not terminal yet (recover again later); `unreadable`: the provider still refuses it (the error says why);
   * `already_recovered`: none of its error lines is left to replace.
   */
  outcome: 'recovered' | 'not_finished' | 'unreadable' | 'already_recovered';
  /** The provider batch's status, when it could be read. */
  provider_status?: string;
  /** Its requests that now have an output line / a (new) error line. */
  output?: number;
  errors?: number;
  error?: string;
}

/** What a recovery did, and the result files' counts after it. */
export interface RecoveryReport {
  batch_id: string;
  /** Unix seconds at which it ended. */
  recovered_at: number;
  parts: RecoveredPart[];
  /** Parts still given up (not finished, unreadable): recover again later. */
  remaining: number;
  /** Lines in output.jsonl and errors.jsonl after the recovery. */
  output_count: number;
  errors_count: number;
}

/** The recovery workflow's input: the batch's spec (its connection possibly replaced). */
export interface RecoverJobInput {
  batchId: string;
  /** The batch's spec, as its workflow was started with it (connection replaced when the caller gave one). */
  spec: BatchSpec;
}
