/**
 * The provider batch of the `openai-compatible` provider, which has no batch API: one workflow per anybatch
 * part (started through the online host (src/activities/online.ts) when the adapter's `createBatch` runs, id `onlineWorkflowId(key)`), that runs the part's requests in one
 * heartbeating activity (src/activities/online.ts) and answers in OpenAI's `Batch` shape to a query, so the batch
 * workflow polls it like any provider batch. The activity is resumed after a crash from the chunks it flushed;
 * a cancel signal cancels it (it stops sending at once). Deterministic: types only from the rest of anybatch.
 */
import { ApplicationFailure, CancellationScope, allHandlersFinished, condition, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Batch } from '../contract/batch';
import type { OnlineCounts } from '../online/checkpoint';
import { onlineBatchQuery, onlineCancelSignal } from '../online/messages';
import type { OnlineActivities, OnlineBatchInput } from '../online/messages';

const { runOnlineRequests } = proxyActivities<OnlineActivities>({
  startToCloseTimeout: '7d',
  // Short, so a killed worker's requests resume soon; cancellation reaches the activity with its heartbeats.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 50 },
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
});
const { countOnlineResults } = proxyActivities<OnlineActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export async function onlineBatchWorkflow(input: OnlineBatchInput): Promise<Batch> {
  const { spec, part } = input;
  const batch: Batch = {
    id: workflowInfo().workflowId,
    object: 'batch',
    endpoint: spec.endpoint,
    input_file_id: '',
    completion_window: spec.completionWindow,
    status: 'in_progress',
    created_at: input.createdAt,
    in_progress_at: input.createdAt,
    metadata: input.metadata,
    request_counts: { total: part.requestCount, completed: 0, failed: 0 },
  };
  let cancelRequested = false;
  const scope = new CancellationScope();
  setHandler(onlineBatchQuery, () => batch);
  setHandler(onlineCancelSignal, () => {
    if (cancelRequested || batch.status !== 'in_progress') return;
    cancelRequested = true;
    batch.status = 'cancelling';
    batch.cancelling_at = nowSeconds();
    scope.cancel();
  });

  const counted = (counts: OnlineCounts): void => {
    batch.request_counts = { total: counts.total, completed: counts.completed, failed: counts.failed };
  };
  try {
    const result = await scope.run(() => runOnlineRequests(input));
    counted(result);
    if (result.cancelled || cancelRequested) {
      batch.status = 'cancelled';
      batch.cancelled_at = nowSeconds();
    } else {
      batch.status = 'completed';
      batch.finalizing_at = batch.completed_at = nowSeconds();
    }
  } catch (err) {
    if (cancelRequested && isCancellation(err)) {
      counted(await countOnlineResults(input));
      batch.status = 'cancelled';
      batch.cancelled_at = nowSeconds();
    } else {
      const cause = (err as { cause?: unknown }).cause;
      const failure = cause instanceof ApplicationFailure ? cause : err instanceof ApplicationFailure ? err : null;
      // The results flushed before the failure are kept; if even they cannot be counted, the counts stay as they were.
      await countOnlineResults(input).then(counted, () => undefined);
      batch.status = 'failed';
      batch.failed_at = nowSeconds();
      batch.errors = {
        object: 'list',
        data: [{ code: failure?.type ?? 'online_failed', message: failure?.message ?? (err as Error).message, line: null, param: null }],
      };
    }
  }
  await condition(allHandlersFinished);
  return batch;
}
