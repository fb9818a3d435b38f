/** Cancelling a batch: Temporal's own cancellation, which the batch workflow treats as a graceful cancel. */
import type { AnybatchBatch } from '../contract/batch';
import { isTerminal } from '../contract/batch';
import { temporalClient } from '../temporal/client';
import type { ClientOptions, ProviderName } from '../options';
import { loadBatch, retrieveBatch } from '../batches/read';


export interface CancelBatchOptions extends ClientOptions {
  /** Wait until the batch is terminal and its partial results are written. */
  wait?: boolean;
}

/**
 * Asks the batch to cancel (its provider batches are cancelled; partial results are still delivered). A batch
 * that is already terminal (completed, failed, expired, cancelled) is returned unchanged: nothing is sent.
 * `provider` null: the id alone names the batch. An unknown id is `BatchNotFoundError`.
 */
export async function cancelBatch(provider: ProviderName | null, batchId: string, options: CancelBatchOptions = {}): Promise<AnybatchBatch> {
  const batch = provider === null ? await loadBatch(batchId, options) : await retrieveBatch(provider, batchId, options);
  if (isTerminal(batch.status)) return batch;
  const client = await temporalClient(options.temporal);
  const handle = client.workflow.getHandle(batchId);
  // Temporal's own cancellation (the batch workflow treats it as a graceful cancel, like the `cancel` signal), so
  // the workflow ends as cancelled in the Web UI.
  await handle.cancel();
  if (!options.wait) return { ...batch, status: 'cancelling' };
  // A cancelled batch ends its workflow as cancelled (an error for `result()`); its record is the answer.
  await handle.result().catch(() => undefined);
  return loadBatch(batchId, options);
}
