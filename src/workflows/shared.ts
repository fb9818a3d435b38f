/**
 * What the client, the worker and the workflow share about a batch workflow: its input, its state and its
 * messages. No side effects and no Node imports (bundled into workflow code).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AnybatchBatch, Batch, BatchResultFiles } from '../batch';
// Types only (erased at build): the workflow keeps the adapter's reference without reading inside it.
import type { PreparedInput } from '../providers/types';
import type { StorageRef } from '../storage/layout';
import type { UsageByModel } from '../cost/types';
import type { TokenEstimate } from '../tokens/types';
import type { BudgetOverrides } from '../admission/budget';
import type { AdmissionTicket } from '../admission/messages';

export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

/** Everything a batch workflow needs to know, fixed at creation. */
export interface BatchSpec {
  batchId: string;
  provider: string;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  /** Unix seconds. */
  createdAt: number;
  /** The staged, validated input. */
  input: { path: string; requestCount: number; bytes: number; model: string | null };
  resultsDir: string;
  /**
   * Where the batch's data lives in the blob store (src/storage/layout.ts): the store's root URI and the keys.
   * Absent in batches staged before the store existed: their `input.path` and `resultsDir` are local paths.
   * With it, `input.path` is only for display (the input's URI) and the worker reads and writes by key.
   */
  storage?: StorageRef;
  pollIntervalMs: number;
  /** How to reach the provider. `sealed` is the encrypted credentials (API key, client args): see src/secrets.ts. */
  connection: { apiBase: string | null; sealed: string | null };
  /** A lower per-provider-batch request limit than the provider's own (splits the input further). */
  maxRequestsPerPart: number | null;
  /** A lower per-provider-batch byte limit than the provider's own. */
  maxBytesPerPart?: number | null;
  /** Provider batches submitted at once when the input is split (default 4). */
  submitConcurrency?: number;
  /**
   * How long a failing step before the provider accepted the batch (plan, upload, create) is retried before the
   * batch fails with that error (default 10 minutes; absent in batches created before it existed).
   */
  retryTimeoutMs?: number;
  /**
   * Resubmit requests that failed with one of `codes` (src/results/retryable.ts), up to `rounds` follow-up rounds
   * (absent: never; batches created before it never have it).
   */
  retryFailed?: { rounds: number; codes: string[] };
  /**
   * How a part the provider failed for a queue limit is submitted again: after `initialMs`, doubling up to `maxMs`,
   * until `giveUpAfterMs` after its first refusal (absent: 1 min, 30 min, 24 h).
   */
  queueLimitRetry?: { initialMs: number; maxMs: number; giveUpAfterMs: number };
  /**
   * The batch's `admission` option: its own limits on what may be in flight at the provider (each a positive integer,
   * null for none; absent measures come from `ANYBATCH_ADMISSION` or the provider's catalog). Absent in older specs.
   */
  admission?: BudgetOverrides;
  /** Provider-specific options passed through to the adapter. */
  providerOptions: Record<string, unknown>;
  /** What the provider will drop or change in these requests (from validation), each once. */
  warnings?: string[];
  /** Publish progress as search attributes (off for servers without anybatch's attributes registered). */
  searchAttributes: boolean;
}

/** One slice of the input that becomes one provider batch. */
export interface PartPlan {
  index: number;
  path: string;
  requestCount: number;
  bytes: number;
  /** Position (0-based) of the part's first request in the whole input; absent in plans made before it was recorded. */
  firstRequest?: number;
  /** The part's estimated input tokens and output caps (src/tokens); absent in plans made before they were estimated. */
  estimatedTokens?: TokenEstimate;
}

/** What one part's results came to, in the batch's results folder. */
export interface PartResults {
  outputPath: string;
  errorsPath: string;
  outputCount: number;
  errorsCount: number;
  /** Tokens the part's results used, per model (src/cost/usage.ts); absent in results written before it was recorded. */
  usage?: UsageByModel;
}

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

/** Returns the batch as it is now. */
export const statusQuery = defineQuery<AnybatchBatch>('status');
/** Asks the workflow to cancel the provider batch(es) and deliver partial results. Idempotent. */
export const cancelSignal = defineSignal('cancel');
/** Waits until every part was accepted by the provider (or the batch failed/ended) and returns the batch. */
export const submittedUpdate = defineUpdate<AnybatchBatch>('submitted');

/** The memo key holding the latest batch snapshot, readable without a worker. */
export const MEMO_BATCH = 'batch';

/** Failure types a batch workflow ends with (their `details[0]` is the final `Batch`). */
export const BATCH_FAILED_FAILURE = 'BatchFailed';
export const BATCH_EXPIRED_FAILURE = 'BatchExpired';
