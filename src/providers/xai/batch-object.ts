/**
 * xAI batch object -> OpenAI `Batch`. xAI has no status enum (docs/provider-apis-2.md section 8): the status is
 * derived from the counts and the times.
 *
 * | xAI | OpenAI status |
 * |---|---|
 * | `cancel_time` set, `num_pending == 0` | `cancelled` |
 * | `cancel_time` set, requests still pending | `cancelling` |
 * | `num_pending == 0 && num_requests > 0` | `completed` |
 * | `expire_time` passed (requests still pending, or none known) | `expired` |
 * | no request known yet (`num_requests == 0`) | `validating` |
 * | otherwise | `in_progress` |
 *
 * Counts: `total` = `num_requests`, `completed` = `num_success`, `failed` = `num_error + num_cancelled`, plus, once
 * the batch expired, the requests still pending (they will never run).
 */
import type { Batch, BatchStatus } from '../../contract/batch';
import type { XaiBatch, XaiTime } from './wire';

/** The statuses derived here, each its own name (xAI has none to map). */
export const XAI_STATUS_MAP = {
  validating: 'validating',
  in_progress: 'in_progress',
  completed: 'completed',
  expired: 'expired',
  cancelling: 'cancelling',
  cancelled: 'cancelled',
} as const satisfies Record<string, BatchStatus>;

/** Unix milliseconds of an xAI timestamp, to its full precision; null when unset. */
export function xaiMillis(time: XaiTime): number | null {
  if (time === null || time === undefined || time === '') return null;
  if (typeof time === 'number') return Number.isFinite(time) ? time * 1000 : null;
  if (/^\d+(\.\d+)?$/.test(time)) return Number(time) * 1000;
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new Error(`xAI returned an unparseable timestamp: ${JSON.stringify(time)}`);
  return ms;
}

/** Unix seconds of an xAI timestamp (floored, as OpenAI's batch fields are); null when unset. */
export function xaiSeconds(time: XaiTime): number | null {
  const ms = xaiMillis(time);
  return ms === null ? null : Math.floor(ms / 1000);
}

/**
 * The derived status at `nowMs`. Expiry is compared to the millisecond: with both sides floored to seconds, a batch
 * whose expire_time falls late in a second read as expired up to a second early, while xAI was still running it, and
 * its results were read before the requests it was about to finish.
 */
export function xaiStatus(batch: XaiBatch, nowMs: number): BatchStatus {
  const s = batch.state;
  const pending = s.num_pending ?? 0;
  const requests = s.num_requests ?? 0;
  if (xaiSeconds(batch.cancel_time) !== null) return pending === 0 ? 'cancelled' : 'cancelling';
  if (pending === 0 && requests > 0) return 'completed';
  const expiresMs = xaiMillis(batch.expire_time);
  if (expiresMs !== null && expiresMs <= nowMs) return 'expired';
  return requests === 0 ? 'validating' : 'in_progress';
}

export interface XaiBatchContext {
  endpoint: string;
  inputFileId?: string;
  /** The clock, unix milliseconds (tests pass their own). */
  nowMs?: number;
}

export function toOpenAIBatch(batch: XaiBatch, ctx: XaiBatchContext): Batch {
  const nowMs = ctx.nowMs ?? Date.now();
  const nowS = Math.floor(nowMs / 1000);
  const status = xaiStatus(batch, nowMs);
  const s = batch.state;
  const created = xaiSeconds(batch.create_time) ?? nowS;
  const expires = xaiSeconds(batch.expire_time);
  const cancelled = xaiSeconds(batch.cancel_time);
  const neverRun = status === 'expired' ? s.num_pending ?? 0 : 0;
  const out: Batch = {
    id: batch.batch_id,
    object: 'batch',
    endpoint: ctx.endpoint,
    input_file_id: ctx.inputFileId ?? '',
    completion_window: '24h',
    status,
    created_at: created,
    request_counts: {
      total: s.num_requests ?? 0,
      completed: s.num_success ?? 0,
      failed: (s.num_error ?? 0) + (s.num_cancelled ?? 0) + neverRun,
    },
  };
  if (status !== 'validating') out.in_progress_at = created;
  if (expires !== null) out.expires_at = expires;
  if (cancelled !== null) {
    out.cancelling_at = cancelled;
    if (status === 'cancelled') out.cancelled_at = cancelled;
  }
  if (status === 'expired' && expires !== null) out.expired_at = expires;
  // xAI may cancel a batch itself, and says why.
  if (batch.cancel_by_xai_message) out.errors = { object: 'list', data: [{ code: 'cancelled_by_xai', message: batch.cancel_by_xai_message, line: null, param: null }] };
  return out;
}
