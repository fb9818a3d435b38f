/**
 * The sandbox's online endpoints: `POST /v1/chat/completions` and `POST /v1/embeddings` under the OpenAI mount
 * (`<url>/openai/v1`, and the prefix-less `<url>/v1`), answered at once by the stand-in model (the batch
 * responder's bodies), so the official `openai` SDK works against them unchanged. With `--rpm N` / `--tpm N` they
 * enforce OpenAI-style limits: token buckets refilled continuously at N per minute with a burst of one second's
 * worth; a request that does not fit gets OpenAI's 429 (`rate_limit_exceeded`, type `requests` or `tokens`) with
 * `retry-after` (seconds, rounded up), `retry-after-ms` and the `x-ratelimit-*` headers. Tokens are counted as
 * the stand-in model counts prompt tokens (ceil(characters / 4)) plus the request's `max_completion_tokens` or
 * `max_tokens`. Every served completion is counted, and so is every one served again for a body already served
 * (`duplicates`: a client re-sending a request it had an answer to).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest, isPlainObject, readJsonBody, sendJson } from '../../kernel/http';
import { stableHex } from '../../kernel/ids';
import { SandboxSettingError } from '../../kernel/options';
import type { Kernel, Route } from '../../kernel/provider';
import type { OnlineStats } from '../../kernel/settings';
import { promptTokens, respond } from '../openai/responder';
import { RateBucket } from './bucket';

export interface OnlineLimits {
  /** Requests per minute (unset: no limit). */
  rpm?: number;
  /** Tokens per minute (unset: no limit). */
  tpm?: number;
}

const ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;

function checkLimit(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new SandboxSettingError(`${name} must be a positive number (got ${JSON.stringify(value)}).`);
  return value;
}

function maxTokensOf(body: Record<string, unknown>): number {
  for (const key of ['max_completion_tokens', 'max_tokens']) {
    const v = body[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  }
  return 0;
}

/** OpenAI's reset durations: `1s`, `250ms`. */
function resetOf(ms: number): string {
  return ms >= 1000 ? `${Math.ceil(ms / 1000)}s` : `${Math.max(0, Math.ceil(ms))}ms`;
}

export class OnlineEndpoints {
  readonly routes: readonly Route[];
  private readonly limits: { rpm: number | null; tpm: number | null };
  private readonly requests: RateBucket | null;
  private readonly tokens: RateBucket | null;
  private readonly served = new Map<string, number>();
  private readonly counts: OnlineStats = { completions: 0, embeddings: 0, rateLimited: 0, duplicates: 0, distinct: 0 };

  constructor(private readonly kernel: Kernel, limits: OnlineLimits = {}) {
    const rpm = checkLimit('rpm', limits.rpm);
    const tpm = checkLimit('tpm', limits.tpm);
    this.limits = { rpm: rpm ?? null, tpm: tpm ?? null };
    const now = kernel.now();
    this.requests = rpm ? new RateBucket(rpm, now) : null;
    this.tokens = tpm ? new RateBucket(tpm, now) : null;
    this.routes = ENDPOINTS.map((endpoint) => ({
      method: 'POST',
      pattern: new RegExp(`^${endpoint.replace(/\//g, '\\/')}$`),
      handler: ({ req, res }) => this.serve(endpoint, req).then(({ status, body, headers }) => sendJson(res, status, body, headers)),
    }));
  }

  stats(): OnlineStats {
    return { ...this.counts };
  }

  private rateHeaders(cost: number, now: number): Record<string, string> {
    const headers: Record<string, string> = {};
    const put = (kind: 'requests' | 'tokens', limit: number | null, bucket: RateBucket | null, n: number): void => {
      if (!limit || !bucket) return;
      headers[`x-ratelimit-limit-${kind}`] = String(limit);
      headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, Math.floor(bucket.available(now))));
      headers[`x-ratelimit-reset-${kind}`] = resetOf(bucket.waitMs(Math.min(n, bucket.capacity), now));
    };
    put('requests', this.limits.rpm, this.requests, 1);
    put('tokens', this.limits.tpm, this.tokens, cost);
    return headers;
  }

  private async serve(endpoint: string, req: IncomingMessage): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
    const body = await readJsonBody(req);
    if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
    const now = this.kernel.now();
    const cost = promptTokens(endpoint, body) + maxTokensOf(body);
    const waitRequests = this.requests?.waitMs(1, now) ?? 0;
    const waitTokens = this.tokens?.waitMs(cost, now) ?? 0;
    if (waitRequests > 0 || waitTokens > 0) {
      this.counts.rateLimited += 1;
      const byTokens = waitTokens > waitRequests;
      const wait = Math.max(waitRequests, waitTokens);
      const [what, limit, requested] = byTokens ? ['tokens per min (TPM)', this.limits.tpm, cost] : ['requests per min (RPM)', this.limits.rpm, 1];
      throw new ApiError(
        429,
        `Rate limit reached for ${typeof body.model === 'string' ? body.model : 'sandbox-model'} in organization org-sandbox on ${what}: Limit ${limit}, Requested ${requested}. Please try again in ${resetOf(wait)}.`,
        byTokens ? 'tokens' : 'requests',
        null,
        'rate_limit_exceeded',
        { ...this.rateHeaders(cost, now), 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) },
      );
    }
    this.requests?.take(1);
    this.tokens?.take(cost);
    const key = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const outcome = respond(endpoint, body, { key: stableHex('online', key), created: Math.floor(now / 1000) });
    if (outcome.statusCode === 200) {
      if (endpoint === '/v1/embeddings') this.counts.embeddings += 1;
      else this.counts.completions += 1;
      const before = this.served.get(key) ?? 0;
      this.served.set(key, before + 1);
      if (before > 0) this.counts.duplicates += 1;
      else this.counts.distinct += 1;
    }
    return { status: outcome.statusCode, body: outcome.body, headers: this.rateHeaders(cost, now) };
  }
}
