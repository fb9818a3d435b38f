/**
 * What the `openai-compatible` adapter, the online batch workflow and its activities share: the workflow's type
 * name, input, query and signal, and the ids. No side effects and no Node imports (bundled into workflow code).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Batch } from '../contract/batch';
import type { BatchSpec, PartPlan } from '../contract/spec';
import type { OnlineCounts } from './checkpoint';

export const ONLINE_WORKFLOW_TYPE = 'onlineBatchWorkflow';

/** The workflow id of a part's online batch (also its provider batch id): one per anybatch batch and part. */
export function onlineWorkflowId(idempotencyKey: string): string {
  return `online_${idempotencyKey.replace(/\//g, '_')}`;
}

export interface OnlineBatchInput {
  /** The anybatch batch (its staging, endpoint, sealed credentials and provider options). */
  spec: BatchSpec;
  part: PartPlan;
  /** Unix seconds at which the online batch was created. */
  createdAt: number;
  metadata: Record<string, string> | null;
}

/** What the requests' activity reports when it ends. */
export interface OnlineRunResult extends OnlineCounts {
  cancelled: boolean;
}

/** The heartbeat details of the requests' activity: its progress so far (the online host (src/activities/online.ts) reads them for counts). */
export interface OnlineProgress extends OnlineCounts {
  chunks: number;
}

/** The online batch, in OpenAI's `Batch` shape (its counts as of its last end; live ones come from heartbeats). */
export const onlineBatchQuery = defineQuery<Batch>('onlineBatch');
/** Stops sending; the requests not sent end as `batch_cancelled`. Idempotent. */
export const onlineCancelSignal = defineSignal('onlineCancel');

/** The activities of the online batch workflow (implemented in src/activities/online.ts). */
export interface OnlineActivities {
  /** Sends the part's requests not yet done and flushes their results; heartbeats `OnlineProgress`. */
  runOnlineRequests(input: OnlineBatchInput): Promise<OnlineRunResult>;
  /** Counts the results flushed so far (after a cancelled run, whose own report was not delivered). */
  countOnlineResults(input: OnlineBatchInput): Promise<OnlineCounts>;
}
