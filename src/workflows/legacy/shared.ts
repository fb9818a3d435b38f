/**
 * The state of the frozen first batch workflow (src/workflows/legacy/batch.ts): what its histories carry across
 * continue-as-new. Types only; new batches run src/workflows/batch-job.ts, whose parts are src/contract/part.ts.
 */
import type { AnybatchBatch, Batch, BatchResultFiles } from '../../contract/batch';
import type { AdmissionTicket } from '../../contract/admission';
import type { PreparedInput } from '../../contract/prepared';
import type { BatchSpec, PartPlan, PartResults } from '../../contract/spec';

export interface PartState extends PartPlan {
  /**
   * What `uploadPart` left at the provider (an uploaded file, or inline input), null until then: an opaque
   * reference the workflow hands back to `createPartBatch`. State carried over from before the reference existed
   * has `fileId` instead; `restoreParts` turns it into a reference.
   */
  prepared: PreparedInput | null;
  /** Latest provider batch snapshot, in OpenAI's shape. */
  batch: Batch | null;
  cancelSent: boolean;
  /**
   * The retry round that made this part (`retryFailed`): 1 for the first follow-up batch of failed requests, and so
   * on; absent for the parts the input was split into (round 0).
   */
  round?: number;
  /**
   * Set while the part waits to be submitted again after the provider refused it for a queue limit: the provider's
   * reason, the refusals so far, when the first was and when the next submission is due (workflow time, ms).
   */
  queued?: { reason: string; attempts: number; sinceMs: number; untilMs: number };
  /**
   * Admission control (src/workflows/admission.ts): the part's ticket while it holds its share of the budget (kept
   * in state so a later run can release it), null once released, absent before it was granted.
   */
  admission?: AdmissionTicket | null;
  /** Set while the part waits for admission: why (the measure the budget is short of). */
  admitting?: string;
  /** Its failure was read (see `classifyPartFailure`) and is final: it is not submitted again. */
  settled?: boolean;
  /** Set while its failure is being read: until then the part does not count as submitted (nor failed). */
  reviewing?: boolean;
  /** Why this part could not be submitted (then it never reached the provider). */
  error: { code: string; message: string } | null;
  results: PartResults | null;
}

/** The workflow's whole state: small, carried across continue-as-new. */
export interface BatchState {
  parts: PartState[];
  cancelRequested: boolean;
  results: BatchResultFiles | null;
  /** Orchestration failure (auth rejected, provider refused the batch, ...). */
  failure: { code: string; message: string } | null;
  /** Unix seconds at which the batch reached a terminal status. */
  finishedAt: number | null;
  /** Consecutive failed status polls (reset on success). */
  pollFailures: number;
  /** The last failed status poll's error, while polls fail (batches started before it never set it). */
  pollError?: string | null;
}

export interface BatchWorkflowInput {
  spec: BatchSpec;
  /** Present when this run continues an earlier one (continue-as-new). */
  state?: BatchState;
}

