/**
 * The activities only the job workflow calls: `awaitPart`, the wait of a running part that costs no history while
 * nothing changes, and `downloadPart`, one part's results read from its provider batch.
 *
 * `awaitPart` reads the provider once per attempt. When nothing needs the workflow it fails with a BENIGN "not yet"
 * (logged at debug, no metrics), which Temporal retries at the batch's poll interval; it returns when the batch is
 * terminal, its status changed, its counts moved and `progressIntervalMs` passed since the wait began, a read
 * failed for the first time in a spell (shown as `anybatch.retrying`), the status cannot be read for good (404,
 * 401, 403, or failing past `statusFailureBoundMs`), or the part's deadline passed.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { AwaitPartRequest, JobActivities } from '../contract/activities';
import type { Batch, LivePart } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import type { PartWaitResult } from '../contract/part';
import type { BatchSpec, PartPlan, PartResults } from '../contract/spec';

/** How long reading a part's status may keep failing (transient errors) before the part is given up. */
export const DEFAULT_STATUS_FAILURE_BOUND_MS = 24 * 3600_000;

export interface WaitDeps {
  /** The provider batch as the provider tells it now (the adapter's `retrieveBatch`, failures classified). */
  retrieve(spec: BatchSpec, providerBatchId: string): Promise<Batch>;
  /** One part's results written from its provider batch. */
  download(spec: BatchSpec, part: PartPlan, batch: Batch): Promise<PartResults>;
}

function countsOf(batch: Batch): string {
  const c = batch.request_counts;
  return `${c?.total ?? ''}/${c?.completed ?? ''}/${c?.failed ?? ''}/${batch.progress ?? ''}`;
}

/** What the wait should say now, given what was read (pure: test/unit/await-part.test.ts). */
export function waitDecision(
  request: AwaitPartRequest,
  read: { batch: Batch } | { error: ApplicationFailure },
  nowMs: number,
  waitingSinceMs: number,
  boundMs: number,
): PartWaitResult | null {
  if ('error' in read) {
    const failure = read.error;
    if (failure.nonRetryable) return { kind: 'unreadable', code: failure.type ?? 'provider_error', error: failure.message };
    const since = request.failingSinceMs ?? nowMs;
    if (nowMs - since >= boundMs) {
      return { kind: 'unreadable', code: failure.type ?? 'provider_error', error: `${failure.message} (failing for ${Math.round((nowMs - since) / 60_000)} min, the bound)` };
    }
    if (request.failingSinceMs === null) return { kind: 'failing', error: failure.message, sinceMs: since };
    return null;
  }
  const { batch } = read;
  if (isTerminal(batch.status)) return { kind: 'terminal', batch };
  if (nowMs >= request.deadlineMs) return { kind: 'deadline', batch };
  if (batch.status !== request.batch.status) return { kind: 'progress', batch };
  // The read works again after a failing spell: the workflow clears what it shows.
  if (request.failingSinceMs !== null) return { kind: 'progress', batch };
  if (countsOf(batch) !== countsOf(request.batch) && nowMs - waitingSinceMs >= request.progressIntervalMs) return { kind: 'progress', batch };
  return null;
}

export function createJobActivities(deps: WaitDeps): JobActivities {
  return {
    async awaitPart(spec, request) {
      const { info } = Context.current();
      let read: { batch: Batch } | { error: ApplicationFailure };
      try {
        read = { batch: await deps.retrieve(spec, request.batch.id) };
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) throw err;
        read = { error: err };
      }
      const answer = waitDecision(request, read, Date.now(), info.scheduledTimestampMs, spec.statusFailureBoundMs ?? DEFAULT_STATUS_FAILURE_BOUND_MS);
      if (answer !== null) return answer;
      if ('error' in read) throw read.error; // still failing, already shown: retried at the poll interval
      // What this read saw, for live progress between checkpoints: heartbeat details live on the server with the
      // pending activity, never in history (the client reads them: src/api.ts).
      const { id, status, request_counts, progress } = read.batch;
      const live: LivePart = { id, status, ...(request_counts ? { request_counts } : {}), ...(progress !== undefined ? { progress } : {}) };
      // Sent only when it differs from what the last attempt left (an RPC, not a history event).
      if (JSON.stringify(Context.current().info.heartbeatDetails ?? null) !== JSON.stringify(live)) Context.current().heartbeat(live);
      throw ApplicationFailure.create({
        type: 'part_not_terminal',
        message: `provider batch ${request.batch.id} (part ${request.part}) is ${read.batch.status}`,
        category: ApplicationFailureCategory.BENIGN,
      });
    },

    async downloadPart(spec, part, batch) {
      return deps.download(spec, part, batch);
    },
  };
}
