/**
 * Provider webhooks in, each provider's batch events at its own route, verified with its own secret:
 * - OpenAI's (`batch.completed`, `batch.failed`, `batch.cancelled`, `batch.expired`) at `/webhooks/openai`, verified
 *   with the `openai` SDK's own `webhooks.unwrap` (Standard Webhooks signatures, timestamps within its tolerance)
 *   under OPENAI_WEBHOOK_SECRET; the provider batch's anybatch batch is found from the provider itself (its
 *   `anybatch_key` metadata, read with the project's OPENAI_API_KEY and OPENAI_BASE_URL, as the worker reads them).
 * - Gemini's static webhooks (`batch.succeeded`, `batch.failed`, `batch.cancelled`, `batch.expired`) at
 *   `/webhooks/gemini`, verified the Standard Webhooks way under GEMINI_WEBHOOK_SECRET (./gemini.ts); the batch is
 *   read from Gemini (GEMINI_API_KEY or GOOGLE_API_KEY, GEMINI_BASE_URL) and its `displayName`
 *   (`anybatch:<batch id>/<part>#<nonce>`) names anybatch's batch.
 * That batch's workflow is signalled (`providerBatchEvent`): its waiting parts poll at once, instead of at their next
 * interval. Polling stays the safety net.
 *
 * Answers: 400 for a bad or stale signature and for a body that is not an event (logged once, nothing done); 200
 * for an event acted on, for a replay of one already seen (an event id, kept for the last 10,000), for an event of
 * another kind, and for a batch that is not anybatch's (so the provider does not retry what no retry can fix); 503
 * when the secret is not set, or the provider or Temporal cannot be reached (the provider retries). Secrets are
 * never logged. Served by `anybatch webhooks`, by the worker (ANYBATCH_WEBHOOKS_ADDRESS) and by `anybatch serve`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { WorkflowNotFoundError } from '@temporalio/common';
import { providerBatchEventSignal } from '../contract/messages';
import type { ClientOptions } from '../options';
import { gemini } from '../providers/gemini';
import { GEMINI_ALT_KEY_ENV, GEMINI_BASE_ENV, GEMINI_KEY_ENV, GEMINI_SDK_BASE_ENV } from '../providers/gemini/client';
import { KEY_METADATA } from '../providers/openai/adapter';
import { ProviderError, type ProviderAdapter } from '../providers/types';
import { temporalClient } from '../temporal/client';
import { anybatchIdOfDisplayName, GEMINI_BATCH_EVENTS, GEMINI_WEBHOOK_SECRET_ENV, GeminiWebhookRefused, geminiBatchName, geminiVerifier, verifyGeminiEvent } from './gemini';

export { GEMINI_WEBHOOK_SECRET_ENV } from './gemini';

export const OPENAI_WEBHOOK_SECRET_ENV = 'OPENAI_WEBHOOK_SECRET';
const MAX_BODY = 1024 * 1024;
/** The routes, one a provider. */
export const WEBHOOK_ROUTES = ['/webhooks/openai', '/webhooks/gemini'] as const;
const SEEN = 10_000;

export interface WebhookReceiverOptions {
  client?: ClientOptions;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface WebhookReceiver {
  /** Serves the request when its path is a webhook route (true), else leaves it (false). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createWebhookReceiver(options: WebhookReceiverOptions = {}): WebhookReceiver {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const seen = new Set<string>();
  const remember = (id: string) => {
    seen.add(id);
    if (seen.size > SEEN) seen.delete(seen.values().next().value as string);
  };
  let openai: OpenAI | null = null;
  const provider = (): OpenAI => {
    const secret = env[OPENAI_WEBHOOK_SECRET_ENV];
    openai ??= new OpenAI({ apiKey: env.OPENAI_API_KEY ?? 'missing', ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}), webhookSecret: secret ?? null, maxRetries: 2 });
    return openai;
  };

  async function openaiEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!env[OPENAI_WEBHOOK_SECRET_ENV]) {
      log(`webhooks: /webhooks/openai refused: ${OPENAI_WEBHOOK_SECRET_ENV} is not set, so no event can be verified`);
      return reply(res, 503, { error: `${OPENAI_WEBHOOK_SECRET_ENV} is not set on this receiver` });
    }
    const body = await readBody(req);
    if (body === null) return reply(res, 413, { error: 'body larger than 1 MiB' });
    let event: { id?: string; type?: string; data?: { id?: string } };
    try {
      event = (await provider().webhooks.unwrap(body, req.headers as Record<string, string>)) as typeof event;
    } catch (err) {
      log(`webhooks: an OpenAI event was refused: ${(err as Error).message}`);
      return reply(res, 400, { error: 'the signature, its timestamp or the body is not valid' });
    }
    const eventId = String(req.headers['webhook-id'] ?? event.id ?? '');
    if (seen.has(eventId)) return reply(res, 200, { status: 'duplicate' });
    if (!event.type?.startsWith('batch.') || typeof event.data?.id !== 'string') {
      remember(eventId);
      return reply(res, 200, { status: 'ignored', reason: `not a batch event (${event.type})` });
    }
    const providerBatchId = event.data.id;
    let key: string | undefined;
    try {
      key = (await provider().batches.retrieve(providerBatchId)).metadata?.[KEY_METADATA] ?? undefined;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404) {
        remember(eventId);
        log(`webhooks: ${event.type} for ${providerBatchId}: OpenAI does not know that batch; ignored`);
        return reply(res, 200, { status: 'ignored', reason: 'unknown batch' });
      }
      log(`webhooks: ${event.type} for ${providerBatchId}: cannot read it from OpenAI (${(err as Error).message}); OpenAI will send it again`);
      return reply(res, 503, { error: 'the provider batch cannot be read now' });
    }
    return wake(res, eventId, { provider: 'openai', providerBatchId, type: event.type }, key?.split('/')[0], 'OpenAI');
  }

  /** Signals anybatch's batch `batchId` (none: not anybatch's) with the provider's event, and answers. */
  async function wake(res: ServerResponse, eventId: string, event: { provider: string; providerBatchId: string; type: string }, batchId: string | null | undefined, label: string): Promise<void> {
    if (!batchId) {
      remember(eventId);
      return reply(res, 200, { status: 'ignored', reason: 'not an anybatch batch' });
    }
    try {
      const client = await temporalClient(options.client?.temporal);
      await client.workflow.getHandle(batchId).signal(providerBatchEventSignal, event);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || (err as Error).name === 'WorkflowNotFoundError') {
        remember(eventId);
        return reply(res, 200, { status: 'ignored', reason: 'the batch has ended or does not exist' });
      }
      log(`webhooks: ${event.type} for ${event.providerBatchId}: cannot signal batch ${batchId} (${(err as Error).message}); ${label} will send it again`);
      return reply(res, 503, { error: 'Temporal cannot be reached now' });
    }
    remember(eventId);
    return reply(res, 200, { status: 'woken', batch: batchId });
  }

  let geminiAdapter: ProviderAdapter | null = null;
  const geminiConnection = () => {
    const apiKey = env[GEMINI_KEY_ENV]?.trim() || env[GEMINI_ALT_KEY_ENV]?.trim();
    const apiBase = env[GEMINI_BASE_ENV]?.trim() || env[GEMINI_SDK_BASE_ENV]?.trim();
    return { ...(apiKey ? { apiKey } : {}), ...(apiBase ? { apiBase } : {}) };
  };

  async function geminiEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secret = env[GEMINI_WEBHOOK_SECRET_ENV];
    if (!secret?.trim()) {
      log(`webhooks: /webhooks/gemini refused: ${GEMINI_WEBHOOK_SECRET_ENV} is not set, so no event can be verified`);
      return reply(res, 503, { error: `${GEMINI_WEBHOOK_SECRET_ENV} is not set on this receiver` });
    }
    const verifier = geminiVerifier(secret);
    if (!verifier) {
      log(`webhooks: /webhooks/gemini refused: ${GEMINI_WEBHOOK_SECRET_ENV} is not a signing secret (whsec_ and base64), so no event can be verified`);
      return reply(res, 503, { error: `${GEMINI_WEBHOOK_SECRET_ENV} is not a whsec_ signing secret on this receiver` });
    }
    const body = await readBody(req);
    if (body === null) return reply(res, 413, { error: 'body larger than 1 MiB' });
    let event;
    try {
      event = verifyGeminiEvent(verifier, body, req.headers);
    } catch (err) {
      if (!(err instanceof GeminiWebhookRefused)) throw err;
      log(`webhooks: a Gemini event was refused: ${err.message}`);
      return reply(res, 400, { error: 'the signature, its timestamp or the body is not valid' });
    }
    const eventId = `gemini:${String(req.headers['webhook-id'])}`;
    if (seen.has(eventId)) return reply(res, 200, { status: 'duplicate' });
    if (!GEMINI_BATCH_EVENTS.includes(event.type)) {
      remember(eventId);
      return reply(res, 200, { status: 'ignored', reason: `not a batch event (${event.type})` });
    }
    const providerBatchId = geminiBatchName(String(event.data.id));
    if (!providerBatchId) {
      remember(eventId);
      log(`webhooks: ${event.type} names ${JSON.stringify(event.data.id)}, which is not a Gemini batch; ignored`);
      return reply(res, 200, { status: 'ignored', reason: 'unknown batch' });
    }
    let displayName: string | undefined;
    try {
      geminiAdapter ??= gemini.createAdapter();
      displayName = (await geminiAdapter.retrieveBatch(geminiConnection(), providerBatchId)).metadata?.display_name;
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') {
        remember(eventId);
        log(`webhooks: ${event.type} for ${providerBatchId}: Gemini does not know that batch; ignored`);
        return reply(res, 200, { status: 'ignored', reason: 'unknown batch' });
      }
      log(`webhooks: ${event.type} for ${providerBatchId}: cannot read it from Gemini (${(err as Error).message}); Gemini will send it again`);
      return reply(res, 503, { error: 'the provider batch cannot be read now' });
    }
    return wake(res, eventId, { provider: 'gemini', providerBatchId, type: event.type }, anybatchIdOfDisplayName(displayName), 'Gemini');
  }

  return {
    async handle(req, res, url) {
      if (url.pathname !== '/webhooks/openai' && url.pathname !== '/webhooks/gemini') return false;
      if (req.method !== 'POST') {
        reply(res, 405, { error: 'POST only' });
        return true;
      }
      if (url.pathname === '/webhooks/gemini') await geminiEvent(req, res);
      else await openaiEvent(req, res);
      return true;
    },
  };
}
