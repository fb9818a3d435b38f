/**
 * The batch object and its status rules, shared by the client, the workflow and the activities.
 * No side effects and no Node imports: this module is bundled into workflow code.
 */
import type { BatchCost } from './cost';
import type { RecoveryReport } from './recovery';
import type { Batch as OpenAIBatch, BatchError as OpenAIBatchError, BatchRequestCounts as OpenAIBatchRequestCounts, BatchUsage as OpenAIBatchUsage } from 'openai/resources/batches';

/** OpenAI's `Batch` object: the shape anybatch returns for every provider. */
export type Batch = OpenAIBatch & {
  /** Percent done as the provider reports it, for providers without request counts (Together). */
  progress?: number;
};
export type BatchStatus = OpenAIBatch['status'];
export type BatchRequestCounts = OpenAIBatchRequestCounts;
export type BatchError = OpenAIBatchError;
export type BatchUsage = OpenAIBatchUsage;

export const TERMINAL_STATUSES: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export function isTerminal(status: BatchStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Where a finished batch's merged results are. */
export interface BatchResultFiles {
  /**
   * JSONL of successful requests, in OpenAI's batch output format: a path on the worker's disk when the store is
   * a local folder, the object's URI otherwise (read results through `retrieveBatchResults` to be store-agnostic).
   */
  output_path: string;
  /** JSONL of failed, cancelled and expired requests, in OpenAI's batch output format (a path or URI, as above). */
  errors_path: string;
  /** Where the output is, as a URI (`file://` or `s3://`); absent in batches finished before the blob store. */
  output_uri?: string;
  /** Where the errors are, as a URI; absent in batches finished before the blob store. */
  errors_uri?: string;
  /** Lines in each file. */
  output_count: number;
  errors_count: number;
  /** What the results cost, from their usage at batch prices (src/cost); absent in batches finished before it was computed. */
  cost?: BatchCost;
}

/** One provider batch that carries (part of) an anybatch batch. */
export interface ProviderBatchRef {
  /** The provider's batch id, e.g. `batch_abc123`. */
  id: string;
  /** The provider's input file id, when the provider takes files. */
  input_file_id: string | null;
  status: BatchStatus;
  /** Percent done as the provider reports it, for providers without request counts (Together). */
  progress?: number;
  /** Its requests as the provider counts them, as last seen (absent in batches recorded before it was kept). */
  request_counts?: BatchRequestCounts;
}

/** What a running part's wait reports between checkpoints (its heartbeat: never in history), for live progress. */
export interface LivePart {
  id: string;
  status: BatchStatus;
  request_counts?: BatchRequestCounts;
  progress?: number;
}

/** A step that is failing and being retried right now (see the README's "When things go wrong"). */
export interface RetryingStep {
  /** `plan`, `upload`, `create`, `poll`, `cancel`, `download` or `merge`. */
  step: string;
  /** Failed attempts so far. */
  attempts: number;
  /** The last attempt's error (it names the URL, host or path involved). */
  error: string;
  /** Unix seconds of the next attempt, when known. */
  next_at: number | null;
}

/** How `retryFailed` went: the follow-up rounds of failed requests so far. */
export interface RetryReport {
  /** Rounds asked for. */
  rounds: number;
  /** Rounds started (each is one or more follow-up provider batches). */
  rounds_run: number;
  /** Requests resubmitted, over every round (a request retried twice counts twice). */
  retried: number;
  /** Requests that succeeded in each round (`[0]`: the first retry round), as far as known. */
  recovered_by_round: number[];
}

/** Parts waiting to be submitted: `cause` says what for, `reason` says why (the first waiting part's). */
export interface QueuedParts {
  /** How many parts wait (of both causes). */
  parts: number;
  /**
   * `admission`: admission control holds them until the budget of their provider connection and model allows them
   * (e.g. "enqueued tokens: 1,800,000 of 2,000,000 in use, this part needs 400,000"); `queue_limit`: the provider
   * refused them for a queue limit (OpenAI's `token_limit_exceeded`, a 429 at create) and they go again after a backoff.
   */
  cause: 'admission' | 'queue_limit';
  reason: string;
  /** When the next part refused for a queue limit goes again (Unix seconds); null when none waits on a backoff. */
  next_at: number | null;
}

/**
 * What the orchestrator adds to OpenAI's `Batch`. It lives under one extra key, `anybatch`, so code
 * written against OpenAI's type keeps working unchanged (an `AnybatchBatch` is a `Batch`).
 */
export interface AnybatchInfo {
  /** Provider name, e.g. `openai`. */
  provider: string;
  /**
   * The provider batch(es) created for this batch, in submission order: the first ones that fit in the batch's bound
   * (`MAX_BATCH_BYTES`, src/workflows/bounded-view.ts), which holds well over a thousand.
   */
  provider_batches: ProviderBatchRef[];
  /** Provider batches not listed in `provider_batches` for the bound (absent when every one is listed). */
  provider_batches_omitted?: number;
  /** The staged copy of the input that the worker reads. */
  input_path: string;
  /** Folder the results are written to. */
  results_dir: string;
  /** Set once the results are written. */
  results: BatchResultFiles | null;
  /** Set when the orchestration itself failed (not the provider's per-request errors). */
  failure: string | null;
  /** Fields the provider ignores or changes in these requests (e.g. `seed` for Anthropic), each once. */
  warnings: string[];
  /** Set while a step fails and is retried (cleared once it succeeds). */
  retrying?: RetryingStep | null;
  /** Present when the batch resubmits failed requests (`retryFailed`). */
  retries?: RetryReport;
  /** Present while parts wait to be submitted (for admission control, or after a queue-limit refusal). */
  queued?: QueuedParts;
  /**
   * What the results cost (USD, at batch prices, with the prices used), once they are written; `total: null` with the
   * reason when a model has no known price. Absent before the results, and in batches finished before it was computed.
   */
  cost?: BatchCost;
  /**
   * Parts given up (status or results unreadable, past their deadline) whose provider batches may still produce
   * results: `anybatch recover ID` / `recoverBatch()` reads them and rewrites the result files.
   */
  recoverable?: number;
  /** The last recovery of this batch's given-up parts (src/contract/recovery.ts), once one ran. */
  recovery?: RecoveryReport;
}

export interface AnybatchBatch extends Batch {
  anybatch: AnybatchInfo;
}

export const EMPTY_COUNTS: BatchRequestCounts = { total: 0, completed: 0, failed: 0 };

/** One line of OpenAI's batch output format (output or error file). */
export interface ResultLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}
