/**
 * How the workflow's state reads as one OpenAI `Batch`: status rules, summed counts, timestamps.
 * Pure functions (bundled into workflow code, also used by tests).
 *
 * Status rules, whatever the number of provider batches (parts):
 * - `validating` until some part is running at the provider, then `in_progress`;
 * - `cancelling` from the cancel request until every part has ended and the results are written;
 * - `finalizing` once every part has ended, while the results are downloaded and merged;
 * - then, with the results on disk: `failed` if no part ran (every part failed validation or was refused),
 *   `cancelled` if a cancel was requested, `expired` if any part expired, otherwise `completed`
 *   (parts that failed validation while others ran are listed in `errors`, and their requests are in
 *   errors.jsonl as `batch_failed` lines).
 */
import type { AnybatchBatch, Batch, BatchError, BatchStatus, BatchUsage } from '../batch';
import type { BatchSpec, BatchState, PartState } from './shared';
import { isTerminal } from '../batch';

const RUNNING: readonly BatchStatus[] = ['in_progress', 'finalizing', 'cancelling'];

/** A part is done at the provider when its batch is terminal or it never reached the provider. */
export function partEnded(part: PartState): boolean {
  return part.error !== null || (part.batch !== null && isTerminal(part.batch.status));
}

export function batchStatus(state: BatchState): BatchStatus {
  if (state.results !== null) return finalStatus(state);
  if (state.cancelRequested) return 'cancelling';
  if (state.parts.length > 0 && state.parts.every(partEnded)) return 'finalizing';
  if (state.failure !== null) return 'finalizing';
  return state.parts.some((p) => p.batch !== null && RUNNING.includes(p.batch.status)) ? 'in_progress' : 'validating';
}

function finalStatus(state: BatchState): BatchStatus {
  const ran = state.parts.filter((p) => p.batch !== null && p.batch.status !== 'failed');
  if (state.cancelRequested) return 'cancelled';
  if (ran.length === 0) return 'failed';
  if (ran.some((p) => p.batch?.status === 'expired')) return 'expired';
  return 'completed';
}

function sum(parts: PartState[], pick: (b: Batch) => number | undefined): number {
  return parts.reduce((acc, p) => acc + (p.batch ? pick(p.batch) ?? 0 : 0), 0);
}

function earliest(parts: PartState[], pick: (b: Batch) => number | null | undefined): number | undefined {
  const values = parts.map((p) => (p.batch ? pick(p.batch) : undefined)).filter((v): v is number => typeof v === 'number');
  return values.length > 0 ? Math.min(...values) : undefined;
}

function usage(parts: PartState[]): BatchUsage | undefined {
  const withUsage = parts.filter((p) => p.batch?.usage);
  if (withUsage.length === 0) return undefined;
  const u = (f: (x: BatchUsage) => number | undefined) => withUsage.reduce((a, p) => a + (f(p.batch!.usage!) ?? 0), 0);
  return {
    input_tokens: u((x) => x.input_tokens),
    input_tokens_details: { cached_tokens: u((x) => x.input_tokens_details?.cached_tokens) },
    output_tokens: u((x) => x.output_tokens),
    output_tokens_details: { reasoning_tokens: u((x) => x.output_tokens_details?.reasoning_tokens) },
    total_tokens: u((x) => x.total_tokens),
  };
}

/** Errors the caller should see: the provider's validation errors (per part when split) and our own failure. */
function errors(state: BatchState): BatchError[] {
  const many = state.parts.length > 1;
  const out: BatchError[] = [];
  for (const part of state.parts) {
    for (const e of part.batch?.errors?.data ?? []) {
      out.push(many ? { ...e, message: `part ${part.index}: ${e.message ?? ''}` } : e);
    }
    if (part.error) out.push({ code: part.error.code, message: many ? `part ${part.index}: ${part.error.message}` : part.error.message });
  }
  if (state.failure && !out.some((e) => e.message?.endsWith(state.failure!.message))) {
    out.push({ code: state.failure.code, message: state.failure.message });
  }
  return out;
}

const WINDOW_SECONDS: Record<string, number> = { '24h': 86_400 };

export function buildBatch(spec: BatchSpec, state: BatchState): AnybatchBatch {
  const status = batchStatus(state);
  const parts = state.parts;
  const errs = errors(state);
  const results = state.results;
  const batch: AnybatchBatch = {
    id: spec.batchId,
    object: 'batch',
    endpoint: spec.endpoint,
    input_file_id: fileIdOf(parts[0]) ?? '',
    completion_window: spec.completionWindow,
    status,
    created_at: spec.createdAt,
    expires_at: earliest(parts, (b) => b.expires_at) ?? spec.createdAt + (WINDOW_SECONDS[spec.completionWindow] ?? 86_400),
    request_counts: {
      total: spec.input.requestCount,
      completed: results ? results.output_count : sum(parts, (b) => b.request_counts?.completed),
      failed: results ? results.errors_count : sum(parts, (b) => b.request_counts?.failed),
    },
    metadata: spec.metadata,
    anybatch: {
      provider: spec.provider,
      provider_batches: parts
        .filter((p) => p.batch !== null)
        .map((p) => ({ id: p.batch!.id, input_file_id: fileIdOf(p), status: p.batch!.status, ...(p.batch!.progress !== undefined ? { progress: p.batch!.progress } : {}) })),
      input_path: spec.input.path,
      results_dir: spec.resultsDir,
      results,
      failure: state.failure?.message ?? null,
      warnings: spec.warnings ?? [],
    },
  };
  // Only batches that record poll errors (see OUTCOME_PATCH) have the key, so older histories replay unchanged.
  if (state.pollError) batch.anybatch.retrying = { step: 'poll', attempts: state.pollFailures, error: state.pollError, next_at: null };
  const model = spec.input.model ?? parts.find((p) => p.batch?.model)?.batch?.model;
  if (model) batch.model = model;
  const inProgressAt = earliest(parts, (b) => b.in_progress_at);
  if (inProgressAt !== undefined) batch.in_progress_at = inProgressAt;
  const cancellingAt = earliest(parts, (b) => b.cancelling_at);
  if (cancellingAt !== undefined) batch.cancelling_at = cancellingAt;
  const finalizingAt = earliest(parts, (b) => b.finalizing_at);
  if (finalizingAt !== undefined) batch.finalizing_at = finalizingAt;
  if (results && state.finishedAt !== null) {
    const at = state.finishedAt;
    if (status === 'completed') batch.completed_at = at;
    else if (status === 'failed') batch.failed_at = at;
    else if (status === 'expired') batch.expired_at = at;
    else if (status === 'cancelled') batch.cancelled_at = at;
  }
  if (errs.length > 0) batch.errors = { object: 'list', data: errs };
  const u = usage(parts);
  if (u) batch.usage = u;
  return batch;
}

/** The provider file a part's input was uploaded as, or null (not uploaded yet, or sent inline). */
function fileIdOf(part: PartState | undefined): string | null {
  return part?.prepared?.kind === 'file' ? part.prepared.fileId : null;
}
