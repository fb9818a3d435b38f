/**
 * The webhooks OpenAI sends when a batch ends (`batch.completed`, `batch.failed`, `batch.cancelled`, `batch.expired`;
 * https://platform.openai.com/docs/guides/webhooks): a POST of `{"id": "evt_...", "object": "event", "type",
 * "created_at", "data": {"id": "batch_..."}}` signed the Standard Webhooks way (headers `webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the `whsec_` secret),
 * as the `openai` SDK's `webhooks.unwrap` verifies it. The sandbox looks for newly ended batches every 100 ms (its
 * batches' states follow its clock) and sends each event once; a receiver that does not answer 2xx gets it again on
 * the next look, up to 5 times, as OpenAI retries.
 */
import crypto from 'node:crypto';
import type { BatchStore } from './batches';

const MAX_ATTEMPTS = 5;

export function startWebhooks(batches: BatchStore, webhook: { url: string; secret: string }, log: ((line: string) => void) | null): () => void {
  const key = Buffer.from(webhook.secret.replace(/^whsec_/, ''), 'base64');
  const sent = new Set<string>();
  const attempts = new Map<string, number>();
  const inFlight = new Set<string>();
  const send = async (id: string, status: string): Promise<void> => {
    const eventId = `evt_${crypto.createHash('sha256').update(id).digest('hex').slice(0, 24)}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id: eventId, object: 'event', type: `batch.${status}`, created_at: timestamp, data: { id } });
    const signature = `v1,${crypto.createHmac('sha256', key).update(`${eventId}.${timestamp}.${body}`).digest('base64')}`;
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': eventId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new Error(`answered ${response.status}`);
  };
  const timer = setInterval(() => {
    for (const { id, status } of batches.ended()) {
      if (sent.has(id) || inFlight.has(id)) continue;
      inFlight.add(id);
      send(id, status)
        .then(() => sent.add(id))
        .catch((err: unknown) => {
          const n = (attempts.get(id) ?? 0) + 1;
          attempts.set(id, n);
          log?.(`webhook batch.${status} for ${id} to ${webhook.url} failed (${(err as Error).message}), attempt ${n}`);
          if (n >= MAX_ATTEMPTS) sent.add(id);
        })
        .finally(() => inFlight.delete(id));
    }
  }, 100);
  timer.unref();
  return () => clearInterval(timer);
}
