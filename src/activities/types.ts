/** The activities a batch workflow calls. Types only: the workflow imports this file, never the implementation. */
import type { Batch, BatchResultFiles } from '../batch';
import type { PreparedInput } from '../providers/types';
import type { BatchSpec, PartPlan, PartResults } from '../workflows/shared';

export interface BatchActivities {
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
  /** Merges the parts' files into the batch's `output.jsonl` and `errors.jsonl`. */
  mergeResults(spec: BatchSpec, parts: PartResults[]): Promise<BatchResultFiles>;
  /** Asks Temporal to cancel this batch's workflow (a batch cancelled by signal then ends as a cancelled workflow). */
  requestWorkflowCancellation(batchId: string): Promise<void>;
}
