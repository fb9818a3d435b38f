/** Gemini batch states and `batchStats` -> OpenAI's batch status and `request_counts`. */
import type * as sdk from '@google/genai';
import type { BatchRequestCounts, BatchStatus } from '../../contract/batch';
import type { BatchStats } from './types';

/**
 * The REST API sends `BATCH_STATE_*` (provider-apis-2.md section 3); the SDK renames them `JOB_STATE_*` and knows a
 * few more (queued, cancelling, paused, updating, partially succeeded), all mapped here so either spelling reads
 * right. A state newer than this table is `in_progress` (see `geminiBatchStatus`).
 */
export const GEMINI_STATUS_MAP = {
  BATCH_STATE_UNSPECIFIED: 'in_progress',
  BATCH_STATE_PENDING: 'validating',
  BATCH_STATE_RUNNING: 'in_progress',
  BATCH_STATE_SUCCEEDED: 'completed',
  BATCH_STATE_FAILED: 'failed',
  BATCH_STATE_CANCELLED: 'cancelled',
  BATCH_STATE_EXPIRED: 'expired',
  JOB_STATE_UNSPECIFIED: 'in_progress',
  JOB_STATE_QUEUED: 'validating',
  JOB_STATE_PENDING: 'validating',
  JOB_STATE_RUNNING: 'in_progress',
  JOB_STATE_UPDATING: 'in_progress',
  JOB_STATE_PAUSED: 'in_progress',
  JOB_STATE_SUCCEEDED: 'completed',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'completed',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLING: 'cancelling',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_EXPIRED: 'expired',
} as const satisfies Record<`BATCH_STATE_${string}` | `${sdk.JobState}`, BatchStatus>;

export function geminiBatchStatus(state: string | undefined): BatchStatus {
  if (state !== undefined && Object.prototype.hasOwnProperty.call(GEMINI_STATUS_MAP, state)) {
    return GEMINI_STATUS_MAP[state as keyof typeof GEMINI_STATUS_MAP];
  }
  return 'in_progress';
}

/** An int64 count as proto3 JSON sends it (a string, or a number; absent means zero). */
function count(value: string | number | undefined): number {
  if (value === undefined) return 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * `metadata.batchStats` -> `request_counts` (total, completed = succeeded, failed); null when the batch has no stats
 * yet (the adapter then reports what it knows, never invented numbers). `requestCount` is the total; without it the
 * total is the sum of succeeded, failed and pending.
 */
export function geminiRequestCounts(stats: BatchStats | undefined | null): BatchRequestCounts | null {
  if (!stats) return null;
  const completed = count(stats.successfulRequestCount);
  const failed = count(stats.failedRequestCount);
  const total = stats.requestCount !== undefined ? count(stats.requestCount) : completed + failed + count(stats.pendingRequestCount);
  return { total, completed, failed };
}
