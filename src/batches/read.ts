/**
 * Reading a batch: its record (the workflow's memo), with what its running parts' waits saw since and the step that
 * is failing right now; a finished batch with given-up parts shows its last recovery. Works for finished batches with
 * no worker running.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { AnybatchBatch, LivePart, RetryingStep } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { BATCH_WORKFLOW_TYPES, MEMO_BATCH } from '../contract/messages';
import { BatchNotFoundError } from '../errors';
import { checkProvider } from '../options';
import type { ClientOptions, ProviderName } from '../options';
import { temporalClient } from '../temporal/client';
import { withLiveParts } from '../workflows/job/view';
import type { RecoveryReport } from '../contract/recovery';
import { recoveryWorkflowId } from '../contract/recovery';

/** The pending activity's name as the step users see. */
const STEPS: Record<string, string> = {
  planParts: 'plan',
  uploadPart: 'upload',
  createPartBatch: 'create',
  retrieveProviderBatch: 'poll',
  awaitPart: 'poll',
  cancelProviderBatch: 'cancel',
  downloadPartResults: 'download',
  downloadPart: 'download',
  mergeResults: 'merge',
};

/** What the running parts' waits saw since the last checkpoint: their heartbeat details (see src/activities/wait.ts). */
function liveParts(description: WorkflowExecutionDescription): LivePart[] {
  const live: LivePart[] = [];
  for (const pending of description.raw.pendingActivities ?? []) {
    if (pending.activityType?.name !== 'awaitPart') continue;
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    try {
      const part = defaultPayloadConverter.fromPayload<LivePart>(payload);
      if (part && typeof part.id === 'string' && typeof part.status === 'string') live.push(part);
    } catch {
      // not ours to read: the recorded batch stands
    }
  }
  return live;
}

/** A step that failed and waits for its next attempt, from the workflow's pending activities (the first such). */
function retryingStep(description: WorkflowExecutionDescription): RetryingStep | null {
  for (const pending of description.raw.pendingActivities ?? []) {
    const error = pending.lastFailure?.message;
    if (!error) continue;
    // A part's wait answers "not yet" at each poll: that is waiting, not a failing step.
    if (pending.lastFailure?.applicationFailureInfo?.type === 'part_not_terminal') continue;
    const next = pending.nextAttemptScheduleTime?.seconds;
    return {
      step: STEPS[pending.activityType?.name ?? ''] ?? pending.activityType?.name ?? 'step',
      attempts: Math.max(1, (pending.attempt ?? 2) - 1),
      error,
      next_at: next !== undefined && next !== null ? Number(next) : null,
    };
  }
  return null;
}

export function fromMemo(memo: Record<string, unknown> | undefined): AnybatchBatch | null {
  const batch = memo?.[MEMO_BATCH] as AnybatchBatch | undefined;
  return batch && typeof batch === 'object' && batch.object === 'batch' ? batch : null;
}

/** A workflow that closed without finishing its batch (terminated, timed out) reports the batch failed. */
export function withClosedStatus(batch: AnybatchBatch, info: Pick<WorkflowExecutionInfo, 'status'>): AnybatchBatch {
  const closed = ['TERMINATED', 'TIMED_OUT', 'FAILED', 'CANCELLED'].includes(info.status.name);
  if (!closed || isTerminal(batch.status)) return batch;
  const reason = `The batch workflow was ${info.status.name.toLowerCase().replace('_', ' ')} before the batch finished.`;
  return { ...batch, status: 'failed', anybatch: { ...batch.anybatch, failure: reason } };
}

/** Reads a batch by id whatever its provider (used by the CLI, where the id alone names the batch). */
export async function loadBatch(batchId: string, options: ClientOptions = {}): Promise<AnybatchBatch> {
  const client = await temporalClient(options.temporal);
  let description;
  try {
    description = await client.workflow.getHandle(batchId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new BatchNotFoundError(batchId);
    throw err;
  }
  const batch = fromMemo(description.memo);
  if (!batch || !BATCH_WORKFLOW_TYPES.includes(description.type)) throw new BatchNotFoundError(batchId);
  const closed = withClosedStatus(batch, description);
  if (isTerminal(closed.status)) return closed.anybatch.recoverable ? withRecovery(closed, options) : closed;
  const retrying = retryingStep(description) ?? closed.anybatch.retrying ?? null;
  const live = withLiveParts(closed, liveParts(description));
  return { ...live, anybatch: { ...live.anybatch, retrying } };
}

/** The batch as last recorded by its workflow; works for finished batches with no worker running. */
export async function retrieveBatch(provider: ProviderName, batchId: string, options: ClientOptions = {}): Promise<AnybatchBatch> {
  checkProvider(provider);
  const batch = await loadBatch(batchId, options);
  if (batch.anybatch.provider !== provider) throw new BatchNotFoundError(batchId, provider);
  return batch;
}


/** The batch with what a recovery of its given-up parts changed: the result files' counts, and the report. */
export function withRecoveryReport(batch: AnybatchBatch, report: RecoveryReport): AnybatchBatch {
  const info = { ...batch.anybatch, recovery: report };
  if (info.results) info.results = { ...info.results, output_count: report.output_count, errors_count: report.errors_count };
  if (report.remaining > 0) info.recoverable = report.remaining;
  else delete info.recoverable;
  const total = batch.request_counts?.total ?? report.output_count + report.errors_count;
  return { ...batch, request_counts: { total, completed: report.output_count, failed: report.errors_count }, anybatch: info };
}

/** A finished batch with given-up parts, as its last completed recovery left it (unchanged when none ran). */
async function withRecovery(batch: AnybatchBatch, options: ClientOptions): Promise<AnybatchBatch> {
  const client = await temporalClient(options.temporal);
  const handle = client.workflow.getHandle(recoveryWorkflowId(batch.id));
  try {
    const description = await handle.describe();
    if (description.status.name !== 'COMPLETED') return batch;
    return withRecoveryReport(batch, (await handle.result()) as RecoveryReport);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return batch;
    throw err;
  }
}
