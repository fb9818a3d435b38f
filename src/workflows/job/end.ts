/**
 * Closes the workflow the way the batch ended, so the Web UI, its Failures filter and `temporal workflow list`
 * agree with `anybatch get`: failed and expired batches fail the workflow with a typed failure carrying the `Batch`,
 * cancelled ones end as a cancelled workflow. A cancel that came as a signal asks Temporal to cancel this workflow
 * first (only a workflow that Temporal was asked to cancel can end as cancelled); should that fail, the run
 * completes. Workflow code.
 */
import { ApplicationFailure, CancelledFailure, condition, log, proxyLocalActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../contract/activities';
import type { AnybatchBatch } from '../../contract/batch';
import { BATCH_EXPIRED_FAILURE, BATCH_FAILED_FAILURE } from '../../contract/messages';
import { describeFailure } from './runtime';

const quick = proxyLocalActivities<BatchActivities>({ startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumAttempts: 3 } });

export async function endLikeBatch(batch: AnybatchBatch, cancelledByTemporal: () => boolean): Promise<AnybatchBatch> {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const tally = `${counts.completed} of ${counts.total} requests succeeded, ${counts.failed} in errors.jsonl`;
  switch (batch.status) {
    case 'failed':
      throw ApplicationFailure.create({
        type: BATCH_FAILED_FAILURE,
        message: `Batch ${batch.id} failed: ${batch.anybatch.failure ?? batch.errors?.data?.[0]?.message ?? 'the provider failed it'} (${tally})`,
        nonRetryable: true,
        details: [batch],
      });
    case 'expired':
      throw ApplicationFailure.create({
        type: BATCH_EXPIRED_FAILURE,
        message: `Batch ${batch.id} expired before it finished: ${tally}`,
        nonRetryable: true,
        details: [batch],
      });
    case 'cancelled':
      if (!cancelledByTemporal()) {
        try {
          await quick.requestWorkflowCancellation(batch.id);
          await condition(cancelledByTemporal, '1m');
        } catch (err) {
          log.warn('could not end the workflow as cancelled; it completes instead', { error: describeFailure(err).message });
        }
      }
      if (cancelledByTemporal()) throw new CancelledFailure(`Batch ${batch.id} was cancelled: ${tally}`, [batch]);
      return batch;
    default:
      return batch;
  }
}
