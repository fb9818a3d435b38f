/**
 * The static webhooks Gemini sends when a batch ends (https://ai.google.dev/gemini-api/docs/webhooks): a POST of the
 * thin envelope `{"type": "batch.<event>", "version": "v1", "timestamp": "<RFC 3339>", "data": {...}}`, signed the
 * Standard Webhooks way (headers `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">` under the base64 key after `whsec_`), with the `standardwebhooks` library Google's page
 * verifies with. Events and their `data`, per the page's event catalog: `batch.succeeded` (`id`, `output_file_uri`
 * when the batch wrote a results file: here its Files API name, as the sandbox keeps it), `batch.failed` (`id`,
 * `error_code`, `error_message`: the batch's google.rpc.Status code and message), `batch.cancelled` and
 * `batch.expired` (`id`). `id` is the batch's bare id, as in the page's example; the resource is `batches/<id>`.
 *
 * The sandbox looks for newly ended batches every 100 ms (their states follow its clock) and sends each event once;
 * a receiver that does not answer 2xx gets it again on the next look, up to 5 times (Gemini retries for 24 hours).
 */
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { BatchState, GeminiStore } from './store';

const MAX_ATTEMPTS = 5;

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
  const signer = new Webhook(webhook.secret);
  const sent = new Set<string>();
  const attempts = new Map<string, number>();
  const inFlight = new Set<string>();
  const send = async (id: string, type: string): Promise<void> => {
    const body = await geminiBatchEvent(store, id, type);
    const messageId = `msg_${crypto.createHash('sha256').update(`${id}\n${type}`).digest('hex').slice(0, 24)}`;
    const now = new Date();
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': messageId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(messageId, now, body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new Error(`answered ${response.status}`);
  };
  const timer = setInterval(() => {
    for (const { record, state } of store.ended()) {
      const type = EVENT_OF_STATE[state];
      if (!type || sent.has(record.id) || inFlight.has(record.id)) continue;
      inFlight.add(record.id);
      send(record.id, type)
        .then(() => sent.add(record.id))
        .catch((err: unknown) => {
          const n = (attempts.get(record.id) ?? 0) + 1;
          attempts.set(record.id, n);
          log?.(`webhook ${type} for batches/${record.id} to ${webhook.url} failed (${(err as Error).message}), attempt ${n}`);
          if (n >= MAX_ATTEMPTS) sent.add(record.id);
        })
        .finally(() => inFlight.delete(record.id));
    }
  }, 100);
  timer.unref();
  return () => clearInterval(timer);
}
