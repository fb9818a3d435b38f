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
 *
 * With `retryFailed`, the parts of each retry round hold requests that failed before: while a round runs, those
 * requests count as neither completed nor failed (they are pending again), and a part that expired counts for
 * the status only when its expired requests were not retried (`batch_expired` not retried, or no later round).
 */
import type { AnybatchBatch, Batch, BatchError, BatchStatus, BatchUsage, QueuedParts, RetryReport } from '../../contract/batch';
import type { BatchSpec } from '../../contract/spec';
import type { BatchState, PartState } from './shared';
import { isTerminal } from '../../contract/batch';

const RUNNING: readonly BatchStatus[] = ['in_progress', 'finalizing', 'cancelling'];

/** A part is done at the provider when its batch is terminal or it never reached the provider. */
export function partEnded(part: PartState): boolean {
  return part.error !== null || (part.batch !== null && isTerminal(part.batch.status));
}

/** The retry round a part belongs to (0: the parts the input was split into). */
export function roundOf(part: PartState): number {
  return part.round ?? 0;
}

/** The latest retry round started (0 when none). */
export function lastRound(state: BatchState): number {
  return state.parts.reduce((max, p) => Math.max(max, roundOf(p)), 0);
}

/** `retryCodes`: the batch's `retryFailed` codes, when it has them. */
export function batchStatus(state: BatchState, retryCodes?: readonly string[]): BatchStatus {
  if (state.results !== null) return finalStatus(state, retryCodes);
  if (state.cancelRequested) return 'cancelling';
  if (state.parts.length > 0 && state.parts.every(partEnded)) return 'finalizing';
  if (state.failure !== null) return 'finalizing';
  return state.parts.some((p) => p.batch !== null && RUNNING.includes(p.batch.status)) ? 'in_progress' : 'validating';
}

function finalStatus(state: BatchState, retryCodes?: readonly string[]): BatchStatus {
  const ran = state.parts.filter((p) => p.batch !== null && p.batch.status !== 'failed');
  if (state.cancelRequested) return 'cancelled';
  if (ran.length === 0) return 'failed';
  const last = lastRound(state);
  const retriedExpired = (p: PartState) => retryCodes !== undefined && retryCodes.includes('batch_expired') && roundOf(p) < last;
  if (ran.some((p) => p.batch?.status === 'expired' && !retriedExpired(p))) return 'expired';
  return 'completed';
}

/** How `retryFailed` went so far, from the parts of each round. */
function retryReport(rounds: number, parts: PartState[]): RetryReport {
  const report: RetryReport = { rounds, rounds_run: 0, retried: 0, recovered_by_round: [] };
  for (const part of parts) {
    const round = roundOf(part);
    if (round === 0) continue;
    report.rounds_run = Math.max(report.rounds_run, round);
    report.retried += part.requestCount;
    while (report.recovered_by_round.length < round) report.recovered_by_round.push(0);
    report.recovered_by_round[round - 1] += part.results ? part.results.outputCount : part.batch?.request_counts?.completed ?? 0;
  }
  return report;
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

/**
 * The parts waiting to be submitted, as one `queued`: for admission control (`cause: 'admission'`, no known time)
 * or after the provider refused them for a queue limit (`cause: 'queue_limit'`, until their backoff ends). The
 * reason and cause are the first waiting part's; a part whose backoff ended and that now waits for admission counts
 * as waiting for admission. Undefined when nothing waits.
 */
function queuedInfo(parts: PartState[]): QueuedParts | undefined {
  const waiting = parts.filter((p) => (p.admitting !== undefined || p.queued !== undefined) && p.batch === null && p.error === null);
  if (waiting.length === 0) return undefined;
  const first = waiting[0];
  const backoffs = waiting.filter((p) => p.admitting === undefined).map((p) => p.queued!.untilMs);
  const queued: QueuedParts =
    first.admitting !== undefined
      ? { parts: waiting.length, reason: first.admitting, next_at: null, cause: 'admission' }
      : { parts: waiting.length, reason: first.queued!.reason, next_at: null, cause: 'queue_limit' };
  if (backoffs.length > 0) queued.next_at = Math.ceil(Math.min(...backoffs) / 1000);
  return queued;
}

const WINDOW_SECONDS: Record<string, number> = { '24h': 86_400 };

export function buildBatch(spec: BatchSpec, state: BatchState): AnybatchBatch {
  const status = batchStatus(state, spec.retryFailed?.codes);
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
      // Requests in a retry round failed before: they are pending again until their round reports them.
      failed: results ? results.errors_count : Math.max(0, sum(parts, (b) => b.request_counts?.failed) - parts.reduce((a, p) => a + (roundOf(p) > 0 ? p.requestCount : 0), 0)),
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
  if (spec.retryFailed) batch.anybatch.retries = retryReport(spec.retryFailed.rounds, parts);
  const queued = queuedInfo(parts);
  if (queued && results === null) batch.anybatch.queued = queued;
  if (state.pollError) batch.anybatch.retrying = { step: 'poll', attempts: state.pollFailures, error: state.pollError, next_at: null };
  // Only results merged with their cost have the key, so older histories build the same batch.
  if (results?.cost) batch.anybatch.cost = results.cost;
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
