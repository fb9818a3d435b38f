/**
 * Gemini's static webhooks, as Google documents them (https://ai.google.dev/gemini-api/docs/webhooks): a project-level
 * webhook made with the WebhookService API POSTs an event signed the Standard Webhooks way (headers `webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the key being the
 * base64 after `whsec_` of the secret the create call returned once), with a thin body:
 * `{"type": "batch.succeeded", "version": "v1", "timestamp": "<RFC 3339>", "data": {"id": ..., ...}}`. The batch
 * events are `batch.succeeded` (`data`: `id`, `output_file_uri`), `batch.failed` (`id`, `error_code`,
 * `error_message`), `batch.cancelled` and `batch.expired` (`id`). Verification is the `standardwebhooks` library's,
 * the one Google's page uses (timestamps more than 5 minutes off are refused). Dynamic webhooks (per request,
 * `webhook_config`, RS256 JWTs checked against Google's JWKS) are not used: anybatch neither asks for them nor
 * accepts them here.
 *
 * `data.id` names the batch; Google's example shows a bare id (`batch_123456`), the REST resource is
 * `batches/<id>`: both forms are read as the batch `batches/<id>`.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { DISPLAY_NAME_PREFIX } from '../providers/gemini/batch-object';

export const GEMINI_WEBHOOK_SECRET_ENV = 'GEMINI_WEBHOOK_SECRET';
/** The events that end a Gemini batch; a static webhook subscribed to them wakes anybatch's batch. */
export const GEMINI_BATCH_EVENTS: readonly string[] = ['batch.succeeded', 'batch.failed', 'batch.cancelled', 'batch.expired'];

export interface GeminiWebhookEvent {
  type: string;
  version?: string;
  timestamp?: string;
  data: { id?: unknown; [field: string]: unknown };
}

/** An event that must not be acted on: a bad or stale signature, or a body that is not an event. */
export class GeminiWebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeminiWebhookRefused';
  }
}

/** The signing secret as a verifier, or null when it is not `whsec_` (or bare) base64 of at least one byte. */
export function geminiVerifier(secret: string): Webhook | null {
  const trimmed = secret.trim();
  if (!/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  try {
    return new Webhook(trimmed);
  } catch {
    return null;
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies `body` (the raw text as received) against the Standard Webhooks headers, then reads it as an event.
 * Throws `GeminiWebhookRefused` for a missing, bad or stale signature and for a body that is not an event object
 * with a `type` and a `data` object; a `batch.*` event also needs a string `data.id`.
 */
export function verifyGeminiEvent(verifier: Webhook, body: string, headers: Record<string, string | string[] | undefined>): GeminiWebhookEvent {
  const signed: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = headerText(headers[name]);
    if (value !== undefined) signed[name] = value;
  }
  try {
    verifier.verify(body, signed, { jsonParse: false });
  } catch (err) {
    if (err instanceof WebhookVerificationError) throw new GeminiWebhookRefused(`signature refused: ${err.message}`);
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new GeminiWebhookRefused('the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new GeminiWebhookRefused('the body is not an event object');
  const event = parsed as Partial<GeminiWebhookEvent>;
  if (typeof event.type !== 'string' || event.type === '') throw new GeminiWebhookRefused('the event has no type');
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) throw new GeminiWebhookRefused(`the ${event.type} event has no data object`);
  if (event.type.startsWith('batch.') && (typeof event.data.id !== 'string' || event.data.id === '')) throw new GeminiWebhookRefused(`the ${event.type} event names no batch (data.id)`);
  return event as GeminiWebhookEvent;
}

/** `data.id` as the batch's resource name (`batches/<id>`), from either form; null when it is neither. */
export function geminiBatchName(id: string): string | null {
  const bare = id.startsWith('batches/') ? id.slice('batches/'.length) : id;
  return /^[A-Za-z0-9_-]+$/.test(bare) ? `batches/${bare}` : null;
}

/** The anybatch batch id in a Gemini batch's display name (`anybatch:<batch id>/<part>#<run nonce>`), if it is one. */
export function anybatchIdOfDisplayName(displayName: string | undefined | null): string | null {
  if (!displayName?.startsWith(DISPLAY_NAME_PREFIX)) return null;
  const key = displayName.slice(DISPLAY_NAME_PREFIX.length).split('#')[0] ?? '';
  const batchId = key.split('/')[0] ?? '';
  return batchId === '' || batchId === key ? null : batchId;
}
