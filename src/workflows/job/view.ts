/**
 * How the job workflow's state reads as one OpenAI `Batch`. Pure (bundled into workflow code, used by the client
 * for the batch it returns before the workflow answers, and by tests).
 *
 * Status rules, whatever the number of parts:
 * - `validating` until some part runs at the provider, then `in_progress`;
 * - `cancelling` from the cancel request until the results are written; `finalizing` once every part ended;
 * - then: `cancelled` if a cancel was asked; `failed` if the batch failed as a whole, no part ran, or a part was
 *   given up for an unreadable status or unreadable results; `expired` if a part expired (and its requests were not
 *   retried) or was given up past its deadline; otherwise `completed`.
 *
 * Every number a provider sent is read as a safe, non-negative integer (a self-hosted server may send `"5"`,
 * `1.5` or `1e20`): no count can make the view, the memo or a search attribute throw.
 */
import type { AnybatchBatch, Batch, BatchError, BatchStatus, BatchUsage, LivePart, QueuedParts, RetryReport } from '../../contract/batch';
import { isTerminal } from '../../contract/batch';
import type { JobState, Part } from '../../contract/part';
import type { BatchSpec } from '../../contract/spec';
import { MAX_ERRORS, boundedBatch } from '../bounded-view';
import { batchOf, ended, recoverableParts, windowMs } from './part';

const RUNNING: readonly BatchStatus[] = ['in_progress', 'finalizing', 'cancelling'];

/** A count as a safe non-negative integer: strings of digits read, fractions floored, the rest 0, huge clamped. */
export function safeCount(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);
}

/** A timestamp in Unix seconds, or undefined when it is not one. */
function safeTime(value: unknown): number | undefined {
  const n = safeCount(value);
  return n > 0 ? n : undefined;
}

function ran(part: Part): boolean {
  const batch = batchOf(part);
  return batch !== null && batch.status !== 'failed';
}

export function jobStatus(spec: BatchSpec, state: JobState): BatchStatus {
  const parts = state.parts ?? [];
  if (state.results !== null) return finalStatus(spec, state, parts);
  if (state.cancelRequested) return 'cancelling';
  if (state.failure !== null) return 'finalizing';
  if (parts.length > 0 && parts.every(ended)) return 'finalizing';
  return parts.some((p) => p.phase === 'running' && RUNNING.includes(p.batch.status)) ? 'in_progress' : 'validating';
}

function finalStatus(spec: BatchSpec, state: JobState, parts: Part[]): BatchStatus {
  if (state.cancelRequested) return 'cancelled';
  if (state.failure !== null || !parts.some(ran)) return 'failed';
  const gaveUp = parts.filter((p) => (p.phase === 'downloading' || p.phase === 'done') && p.gaveUp);
  if (gaveUp.some((p) => (p as { outcome: { code: string } | null }).outcome?.code !== 'batch_expired')) return 'failed';
  if (gaveUp.length > 0) return 'expired';
  const last = lastRound(parts);
  const codes = spec.retryFailed?.codes;
  const retriedExpired = (p: Part) => codes !== undefined && codes.includes('batch_expired') && p.round < last;
  if (parts.some((p) => ran(p) && batchOf(p)!.status === 'expired' && !retriedExpired(p))) return 'expired';
  return 'completed';
}

export function lastRound(parts: readonly Part[]): number {
  return parts.reduce((max, p) => Math.max(max, p.round), 0);
}

function sum(parts: Part[], pick: (b: Batch) => unknown): number {
  return Math.min(parts.reduce((acc, p) => { const b = batchOf(p); return acc + (b ? safeCount(pick(b)) : 0); }, 0), Number.MAX_SAFE_INTEGER);
}

function earliest(parts: Part[], pick: (b: Batch) => unknown): number | undefined {
  let min: number | undefined;
  for (const p of parts) {
    const b = batchOf(p);
    const v = b ? safeTime(pick(b)) : undefined;
    if (v !== undefined && (min === undefined || v < min)) min = v;
  }
  return min;
}

function usage(parts: Part[]): BatchUsage | undefined {
  const withUsage = parts.map(batchOf).filter((b): b is Batch => b !== null && !!b.usage);
  if (withUsage.length === 0) return undefined;
  const u = (f: (x: BatchUsage) => unknown) => Math.min(withUsage.reduce((a, b) => a + safeCount(f(b.usage!)), 0), Number.MAX_SAFE_INTEGER);
  return {
    input_tokens: u((x) => x.input_tokens),
    input_tokens_details: { cached_tokens: u((x) => x.input_tokens_details?.cached_tokens) },
    output_tokens: u((x) => x.output_tokens),
    output_tokens_details: { reasoning_tokens: u((x) => x.output_tokens_details?.reasoning_tokens) },
    total_tokens: u((x) => x.total_tokens),
  };
}

function errors(state: JobState, parts: Part[]): BatchError[] {
  const many = parts.length > 1;
  const out: BatchError[] = [];
  const label = (part: Part, message: string) => (many ? `part ${part.index}: ${message}` : message);
  for (const part of parts) {
    const batch = batchOf(part);
    for (const e of batch?.errors?.data ?? []) out.push({ ...e, message: label(part, String(e.message ?? '')) });
    if ((part.phase === 'downloading' || part.phase === 'done') && part.outcome) out.push({ code: part.outcome.code, message: label(part, part.outcome.message) });
    if ((part.phase === 'downloading' || part.phase === 'done') && part.notice) out.push({ code: part.notice.code, message: label(part, part.notice.message) });
  }
  if (state.failure && !out.some((e) => e.message?.endsWith(state.failure!.message))) out.push({ code: state.failure.code, message: state.failure.message });
  if (out.length <= MAX_ERRORS) return out;
  const kept = out.slice(0, MAX_ERRORS - 1);
  kept.push({ code: 'more_errors', message: `${out.length - kept.length} more errors (each part's are in errors.jsonl)` });
  return kept;
}

function queuedInfo(parts: Part[]): QueuedParts | undefined {
  const waiting = parts.filter((p) => p.phase === 'admitting' || p.phase === 'queued');
  if (waiting.length === 0) return undefined;
  const first = waiting[0];
  const backoffs = waiting.flatMap((p) => (p.phase === 'queued' ? [p.untilMs] : []));
  const queued: QueuedParts =
    first.phase === 'admitting'
      ? { parts: waiting.length, reason: first.reason, next_at: null, cause: 'admission' }
      : { parts: waiting.length, reason: (first as Extract<Part, { phase: 'queued' }>).reason, next_at: null, cause: 'queue_limit' };
  if (backoffs.length > 0) queued.next_at = Math.ceil(Math.min(...backoffs) / 1000);
  return queued;
}

function retryReport(rounds: number, parts: Part[]): RetryReport {
  const report: RetryReport = { rounds, rounds_run: 0, retried: 0, recovered_by_round: [] };
  for (const part of parts) {
    if (part.round === 0) continue;
    report.rounds_run = Math.max(report.rounds_run, part.round);
    report.retried += part.requestCount;
    while (report.recovered_by_round.length < part.round) report.recovered_by_round.push(0);
    report.recovered_by_round[part.round - 1] += part.phase === 'done' ? part.results.outputCount : safeCount(batchOf(part)?.request_counts?.completed);
  }
  return report;
}

function fileIdOf(part: Part | undefined): string | null {
  return part?.prepared?.kind === 'file' ? part.prepared.fileId : null;
}

/**
 * The batch as recorded (memo, status query, the workflow's result, what the client returns): the view within its
 * bound (src/workflows/bounded-view.ts), whatever the number of parts and whatever the providers sent.
 */
export function jobView(spec: BatchSpec, state: JobState): AnybatchBatch {
  return boundedBatch(unboundedJobView(spec, state));
}

/**
 * The view before its bound. The workflow publishes when this changes (as it did before the bound existed), so a
 * running batch's commands stay those its history recorded; errors are listed up to `MAX_ERRORS` here already.
 */
export function unboundedJobView(spec: BatchSpec, state: JobState): AnybatchBatch {
  const status = jobStatus(spec, state);
  const parts = state.parts ?? [];
  const results = state.results;
  const errs = errors(state, parts);
  const retried = parts.reduce((a, p) => a + (p.round > 0 ? p.requestCount : 0), 0);
  const batch: AnybatchBatch = {
    id: spec.batchId,
    object: 'batch',
    endpoint: spec.endpoint,
    input_file_id: fileIdOf(parts[0]) ?? '',
    completion_window: spec.completionWindow,
    status,
    created_at: spec.createdAt,
    expires_at: earliest(parts, (b) => b.expires_at) ?? spec.createdAt + Math.round(windowMs(spec.completionWindow) / 1000),
    request_counts: {
      total: spec.input.requestCount,
      completed: results ? results.output_count : Math.min(sum(parts, (b) => b.request_counts?.completed), spec.input.requestCount),
      // Requests in a retry round failed before: they are pending again until their round reports them.
      failed: results ? results.errors_count : Math.min(Math.max(0, sum(parts, (b) => b.request_counts?.failed) - retried), spec.input.requestCount),
    },
    metadata: spec.metadata,
    anybatch: {
      provider: spec.provider,
      provider_batches: parts.flatMap((p) => {
        const b = batchOf(p);
        if (!b) return [];
        const progress = b.progress !== undefined ? Math.min(safeCount(b.progress), 100) : undefined;
        const counts = b.request_counts ? { request_counts: { total: safeCount(b.request_counts.total), completed: safeCount(b.request_counts.completed), failed: safeCount(b.request_counts.failed) } } : {};
        return [{ id: b.id, input_file_id: fileIdOf(p), status: b.status, ...(progress !== undefined ? { progress } : {}), ...counts }];
      }),
      input_path: spec.input.path,
      results_dir: spec.resultsDir,
      results,
      failure: state.failure?.message ?? null,
      warnings: spec.warnings ?? [],
    },
  };
  if (spec.retryFailed) batch.anybatch.retries = retryReport(spec.retryFailed.rounds, parts);
  const queued = queuedInfo(parts);
  if (queued && results === null) batch.anybatch.queued = queued;
  if (state.retrying && results === null) {
    const r = state.retrying;
    batch.anybatch.retrying = { step: r.step, attempts: 1, error: parts.length > 1 ? `part ${r.part}: ${r.error}` : r.error, next_at: null };
  }
  if (results?.cost) batch.anybatch.cost = results.cost;
  const recoverable = results ? recoverableParts(parts).length : 0;
  if (recoverable > 0) batch.anybatch.recoverable = recoverable;
  const model = spec.input.model ?? parts.map(batchOf).find((b) => b?.model)?.model;
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

/**
 * The batch as recorded, with what its running parts' waits saw since (`LivePart`s, from their heartbeats): each
 * part's status and counts replace the recorded ones, and the batch's counts move by the difference. Counts move
 * between checkpoints without a history event; the Web UI's memo keeps the checkpoint's.
 */
export function withLiveParts(batch: AnybatchBatch, live: readonly LivePart[]): AnybatchBatch {
  if (live.length === 0 || isTerminal(batch.status)) return batch;
  const byId = new Map(live.map((l) => [l.id, l]));
  let completed = safeCount(batch.request_counts?.completed);
  let failed = safeCount(batch.request_counts?.failed);
  const total = safeCount(batch.request_counts?.total);
  const refs = batch.anybatch.provider_batches.map((ref) => {
    const seen = byId.get(ref.id);
    if (!seen) return ref;
    const next = { ...ref, status: seen.status };
    if (seen.progress !== undefined) next.progress = Math.min(safeCount(seen.progress), 100);
    if (seen.request_counts && ref.request_counts) {
      completed += safeCount(seen.request_counts.completed) - ref.request_counts.completed;
      failed += safeCount(seen.request_counts.failed) - ref.request_counts.failed;
      next.request_counts = { total: safeCount(seen.request_counts.total), completed: safeCount(seen.request_counts.completed), failed: safeCount(seen.request_counts.failed) };
    }
    return next;
  });
  const clamp = (n: number) => Math.min(Math.max(0, n), total);
  const status = batch.status === 'validating' && refs.some((r) => RUNNING.includes(r.status)) ? 'in_progress' : batch.status;
  return { ...batch, status, request_counts: { total, completed: clamp(completed), failed: clamp(failed) }, anybatch: { ...batch.anybatch, provider_batches: refs } };
}

/** The state of a batch that was just accepted: what the client shows before the workflow answers. */
export function initialJobState(): JobState {
  return { parts: null, cancelRequested: false, failure: null, results: null, finishedAt: null, retrying: null };
}
