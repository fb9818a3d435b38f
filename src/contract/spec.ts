/**
 * What a batch is, fixed at creation, and what its parts are: the input every batch workflow version takes and the
 * plans and results its activities exchange. Types only (workflow-safe; the ground floor imports nothing of ours
 * outside src/contract/).
 */
import type { BudgetOverrides } from './admission';
import type { UsageByModel } from './cost';
import type { StorageRef } from './storage';
import type { TokenEstimate } from './tokens';

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
  /**
   * Where the batch's end is announced (a signed Standard Webhooks event, by the `deliverWebhook` activity once the
   * results are written). Absent: no webhook, as in every batch created before it existed.
   */
  webhook?: { url: string };
  /**
   * The job workflow's bounds (absent: the defaults in src/workflows/job/part.ts). `deadlineGraceMs`: how long a
   * provider batch may stay non-terminal past its completion window before it is cancelled; `cancelGraceMs`: how long
   * after a cancel before the part is given up; `resultsRetentionMs`: how long the download of results is retried
   * (as long as the provider keeps result files: OpenAI keeps them 30 days); `statusFailureBoundMs`: how long the
   * status of a part may fail to be read (transient errors) before the part is given up.
   */
  deadlineGraceMs?: number;
  cancelGraceMs?: number;
  resultsRetentionMs?: number;
  statusFailureBoundMs?: number;
  /** A change of counts alone is checkpointed into history at most this often (absent: 30 minutes). */
  progressIntervalMs?: number;
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

