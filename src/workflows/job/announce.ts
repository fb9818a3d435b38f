/**
 * The batch's own webhook (`spec.webhook`): once its results are written, the `deliverWebhook` activity POSTs the
 * ended batch, retried with backoff for up to a day (at least once; every attempt carries the same event id). A
 * delivery that fails for good (refused target, no secret, a 4xx, a day of failures) is logged and the batch ends as
 * it would have: the webhook announces the batch, it never decides it. Only batches created with a webhook schedule
 * the activity, so the histories of every other batch replay unchanged. Workflow code.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../contract/activities';
import type { AnybatchBatch } from '../../contract/batch';
import type { BatchSpec } from '../../contract/spec';
import { describeFailure } from './runtime';

const webhooks = proxyActivities<Required<Pick<BatchActivities, 'deliverWebhook'>>>({
  startToCloseTimeout: '2m',
  scheduleToCloseTimeout: '24h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m' },
});

export async function announce(spec: BatchSpec, batch: AnybatchBatch): Promise<void> {
  if (!spec.webhook) return;
  try {
    await webhooks.deliverWebhook(spec, batch);
  } catch (err) {
    log.warn('the batch webhook was not delivered', { batchId: spec.batchId, error: describeFailure(err).message });
  }
}
