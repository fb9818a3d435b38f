/**
 * Sending a provider's batch webhooks, as OpenAI and Gemini both do: a POST signed the Standard Webhooks way (headers
 * `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the
 * base64 key after `whsec_`, with the `standardwebhooks` library). The sandbox looks for newly ended batches every
 * 100 ms (their states follow its clock) and sends each event once; a receiver that does not answer 2xx gets it again
 * on the next look, up to 5 times. Each provider module says which batches ended and what its event looks like.
 */
import { Webhook } from 'standardwebhooks';

const MAX_ATTEMPTS = 5;

/** A batch that ended, and its event. */
export interface EndedBatch {
  /** The batch: its event is sent once. */
  key: string;
  /** For the log: the event and the batch. */
  describe: string;
  /** The event, built when it is sent: its message id (the same on every attempt) and body. */
  event(now: Date): Promise<{ id: string; body: string }> | { id: string; body: string };
}

/** Starts sending `ended()`'s events to `webhook.url`; the function returned stops it. */
export function startWebhookSender(ended: () => Iterable<EndedBatch>, webhook: { url: string; secret: string }, log: ((line: string) => void) | null): () => void {
  const signer = new Webhook(webhook.secret);
  const sent = new Set<string>();
  const attempts = new Map<string, number>();
  const inFlight = new Set<string>();
  const send = async (batch: EndedBatch): Promise<void> => {
    const now = new Date();
    const { id, body } = await batch.event(now);
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(id, now, body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new Error(`answered ${response.status}`);
  };
  const timer = setInterval(() => {
    for (const batch of ended()) {
      const { key } = batch;
      if (sent.has(key) || inFlight.has(key)) continue;
      inFlight.add(key);
      send(batch)
        .then(() => sent.add(key))
        .catch((err: unknown) => {
          const n = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, n);
          log?.(`webhook ${batch.describe} to ${webhook.url} failed (${(err as Error).message}), attempt ${n}`);
          if (n >= MAX_ATTEMPTS) sent.add(key);
        })
        .finally(() => inFlight.delete(key));
    }
  }, 100);
  timer.unref();
  return () => clearInterval(timer);
}
