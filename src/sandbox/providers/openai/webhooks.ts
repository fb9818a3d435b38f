/**
 * The webhooks OpenAI sends when a batch ends (`batch.completed`, `batch.failed`, `batch.cancelled`, `batch.expired`;
 * https://platform.openai.com/docs/guides/webhooks): a POST of `{"id": "evt_...", "object": "event", "type",
 * "created_at", "data": {"id": "batch_..."}}`, signed and retried by the kernel's sender (../../kernel/webhook-sender.ts)
 * as the `openai` SDK's `webhooks.unwrap` verifies it.
 */
import crypto from 'node:crypto';
import { startWebhookSender } from '../../kernel/webhook-sender';
import type { BatchStore } from './batches';

export function startWebhooks(batches: BatchStore, webhook: { url: string; secret: string }, log: ((line: string) => void) | null): () => void {
  function* ended() {
    for (const { id, status } of batches.ended()) {
      yield {
        key: id,
        describe: `batch.${status} for ${id}`,
        event(now: Date) {
          const eventId = `evt_${crypto.createHash('sha256').update(id).digest('hex').slice(0, 24)}`;
          return { id: eventId, body: JSON.stringify({ id: eventId, object: 'event', type: `batch.${status}`, created_at: Math.floor(now.getTime() / 1000), data: { id } }) };
        },
      };
    }
  }
  return startWebhookSender(ended, webhook, log);
}
