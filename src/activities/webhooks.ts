/**
 * anybatch's own webhooks out: when a batch with a `webhook` ends and its results are written, the worker POSTs a
 * Standard Webhooks event (https://www.standardwebhooks.com): headers `webhook-id` (the same on every attempt:
 * `msg_` and a digest of the batch and its status, the receiver's idempotency key), `webhook-timestamp` (unix seconds)
 * and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret), and a body
 * `{"type": "anybatch.batch.<status>", "timestamp", "data": <the batch>}`.
 *
 * The secret is the worker's (ANYBATCH_WEBHOOK_SECRET, `whsec_<base64>`): never in history, a batch, or a log. The
 * target is checked where it resolves: http(s) only, and no loopback, private, link-local or otherwise internal
 * address unless the operator allows them (ANYBATCH_WEBHOOK_ALLOW_PRIVATE=1), so a workflow input cannot aim the
 * worker at its own network. Redirects are not followed.
 */
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import type { AnybatchBatch } from '../contract/batch';
import type { BatchSpec } from '../contract/spec';
import { streamingFetch } from '../providers/streaming-fetch';
import { recordWebhook } from './metrics';

export const WEBHOOK_SECRET_ENV = 'ANYBATCH_WEBHOOK_SECRET';
export const WEBHOOK_ALLOW_PRIVATE_ENV = 'ANYBATCH_WEBHOOK_ALLOW_PRIVATE';
const TIMEOUT_MS = 30_000;

/** The signing key of ANYBATCH_WEBHOOK_SECRET (`whsec_<base64>`, or bare base64). */
export function webhookKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const secret = env[WEBHOOK_SECRET_ENV]?.trim();
  if (!secret) {
    throw ApplicationFailure.create({ type: 'webhook_secret_missing', nonRetryable: true, message: `The batch has a webhook but this worker has no ${WEBHOOK_SECRET_ENV} (whsec_<base64>, as Standard Webhooks writes it) to sign it with.` });
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  if (key.length < 16) throw ApplicationFailure.create({ type: 'webhook_secret_invalid', nonRetryable: true, message: `${WEBHOOK_SECRET_ENV} is not whsec_ followed by at least 16 bytes in base64.` });
  return key;
}

/** Standard Webhooks' signature header value of `body`. */
export function signature(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Whether an address is one a webhook may not reach without the operator's leave. */
export function isInternalAddress(address: string): boolean {
  const v4 = net.isIPv4(address) ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) {
    const [a, b] = v4.split('.').map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
  }
  const lower = address.toLowerCase();
  return lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || /^ff/.test(lower);
}

/** Refuses a target that resolves to an internal address (unless allowed), naming the host and the address. */
async function checkTarget(url: URL, env: NodeJS.ProcessEnv): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ApplicationFailure.create({ type: 'webhook_refused', nonRetryable: true, message: `webhook ${url.origin}: only http and https are sent to.` });
  }
  if (env[WEBHOOK_ALLOW_PRIVATE_ENV] === '1') return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw ApplicationFailure.create({ type: 'webhook_unreachable', message: `webhook host ${host} does not resolve.` });
  const internal = addresses.find(isInternalAddress);
  if (internal) {
    throw ApplicationFailure.create({
      type: 'webhook_refused',
      nonRetryable: true,
      message: `webhook ${url.origin} resolves to ${internal}, a loopback, private or internal address: refused (the worker's operator may allow such targets with ${WEBHOOK_ALLOW_PRIVATE_ENV}=1).`,
    });
  }
}

/** The event's type for a batch's status. */
export function eventType(batch: AnybatchBatch): string {
  return `anybatch.batch.${batch.status}`;
}

export async function deliverWebhook(spec: BatchSpec, batch: AnybatchBatch, env: NodeJS.ProcessEnv = process.env): Promise<{ status: number; id: string }> {
  try {
    const delivered = await deliver(spec, batch, env);
    if (spec.webhook) recordWebhook('delivered');
    return delivered;
  } catch (err) {
    recordWebhook(err instanceof ApplicationFailure && err.nonRetryable ? 'refused' : 'failed');
    throw err;
  }
}

async function deliver(spec: BatchSpec, batch: AnybatchBatch, env: NodeJS.ProcessEnv): Promise<{ status: number; id: string }> {
  const target = spec.webhook;
  if (!target) return { status: 0, id: '' };
  const key = webhookKey(env);
  const url = new URL(target.url);
  await checkTarget(url, env);
  const id = `msg_${crypto.createHash('sha256').update(`${spec.batchId}\n${batch.status}`).digest('hex').slice(0, 32)}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: eventType(batch), timestamp: new Date(timestamp * 1000).toISOString(), data: batch });
  let response: Response;
  try {
    response = await streamingFetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature(key, id, timestamp, body), 'user-agent': 'anybatch-webhooks' },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw ApplicationFailure.create({ type: 'webhook_unreachable', message: `webhook ${url.origin}${url.pathname} got no answer: ${(err as Error).message}` });
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return { status: response.status, id };
  const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
  throw ApplicationFailure.create({
    type: retryable ? 'webhook_failed' : 'webhook_refused',
    nonRetryable: !retryable,
    message: `webhook ${url.origin}${url.pathname} answered ${response.status}${retryable ? '; retrying' : ''}.`,
  });
}
