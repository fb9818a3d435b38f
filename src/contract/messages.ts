/**
 * The messages every batch workflow version answers (the status query, the cancel signal, the submitted update),
 * the memo key, the failure types a batch workflow ends with, and the workflow type names. Handler definitions
 * only: the client, the workflows and the activities all import them from here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AnybatchBatch } from './batch';

/** The frozen first batch workflow (src/workflows/legacy/): batches started on it finish on it. */
export const LEGACY_BATCH_WORKFLOW_TYPE = 'batchWorkflow';
/** The workflow type new batches start. */
export const BATCH_WORKFLOW_TYPE = 'batchJob';
/** Every workflow type a batch may run on (the client finds, lists and cancels batches of each). */
export const BATCH_WORKFLOW_TYPES: readonly string[] = [BATCH_WORKFLOW_TYPE, LEGACY_BATCH_WORKFLOW_TYPE];

/** Returns the batch as it is now. */
export const statusQuery = defineQuery<AnybatchBatch>('status');
/** Asks the workflow to cancel the provider batch(es) and deliver partial results. Idempotent. */
export const cancelSignal = defineSignal('cancel');

/**
 * A provider said one of the batch's provider batches changed (its webhook: src/webhooks-in): the parts waiting on
 * their provider batches poll at once instead of at their next interval. Carries which provider batch, for the
 * history; every waiting part is woken (a poll that finds nothing new costs one read).
 */
export interface ProviderBatchEvent {
  provider: string;
  providerBatchId: string;
  type: string;
}
export const providerBatchEventSignal = defineSignal<[ProviderBatchEvent]>('providerBatchEvent');
/** Waits until every part was accepted by the provider (or the batch failed/ended) and returns the batch. */
export const submittedUpdate = defineUpdate<AnybatchBatch>('submitted');

/** The memo key holding the latest batch snapshot, readable without a worker. */
export const MEMO_BATCH = 'batch';

/** Failure types a batch workflow ends with (their `details[0]` is the final `Batch`). */
export const BATCH_FAILED_FAILURE = 'BatchFailed';
export const BATCH_EXPIRED_FAILURE = 'BatchExpired';
