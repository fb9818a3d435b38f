/**
 * The static webhooks Gemini sends when a batch ends (https://ai.google.dev/gemini-api/docs/webhooks): a POST of the
 * thin envelope `{"type": "batch.<event>", "version": "v1", "timestamp": "<RFC 3339>", "data": {...}}`, signed the
 * Standard Webhooks way and retried by the kernel's sender (../../kernel/webhook-sender.ts), as the `standardwebhooks`
 * library Google's page verifies with checks it. Events and their `data`, per the page's event catalog: `batch.succeeded` (`id`, `output_file_uri`
 * when the batch wrote a results file: here its Files API name, as the sandbox keeps it), `batch.failed` (`id`,
 * `error_code`, `error_message`: the batch's google.rpc.Status code and message), `batch.cancelled` and
 * `batch.expired` (`id`). `id` is the batch's bare id, as in the page's example; the resource is `batches/<id>`.
 * (Gemini retries for 24 hours; the sandbox, 5 times.)
 */
import crypto from 'node:crypto';
import { startWebhookSender } from '../../kernel/webhook-sender';
import type { BatchState, GeminiStore } from './store';

const EVENT_OF_STATE: Partial<Record<BatchState, string>> = {
  BATCH_STATE_SUCCEEDED: 'batch.succeeded',
  BATCH_STATE_FAILED: 'batch.failed',
  BATCH_STATE_CANCELLED: 'batch.cancelled',
  BATCH_STATE_EXPIRED: 'batch.expired',
};

/** The body of a batch's ending event, from the batch as the REST API shows it. */
export async function geminiBatchEvent(store: GeminiStore, id: string, type: string): Promise<string> {
  const op = (await store.operation(store.batch(id))) as {
    error?: { code?: number; message?: string };
    metadata?: { endTime?: string; output?: { responsesFile?: string } };
  };
  const data: Record<string, unknown> = { id };
  if (type === 'batch.succeeded' && op.metadata?.output?.responsesFile) data.output_file_uri = op.metadata.output.responsesFile;
  if (type === 'batch.failed') {
    data.error_code = op.error?.code ?? 13;
    data.error_message = op.error?.message ?? 'The batch failed.';
  }
  return JSON.stringify({ type, version: 'v1', timestamp: op.metadata?.endTime ?? new Date().toISOString(), data });
}

export function startGeminiWebhooks(store: GeminiStore, webhook: { url: string; secret: string }, log: ((line: string) => void) | null): () => void {
  function* ended() {
    for (const { record, state } of store.ended()) {
      const type = EVENT_OF_STATE[state];
      if (!type) continue;
      yield {
        key: record.id,
        describe: `${type} for batches/${record.id}`,
        async event() {
          return { id: `msg_${crypto.createHash('sha256').update(`${record.id}\n${type}`).digest('hex').slice(0, 24)}`, body: await geminiBatchEvent(store, record.id, type) };
        },
      };
    }
  }
  return startWebhookSender(ended, webhook, log);
}
