/**
 * The `gemini` module: the Gemini Developer API's batch mode and Files API at `/gemini` (then `/v1beta/...` or
 * `/v1/...`, `/upload/...`, `/download/...`), as `@google/genai` talks to it with `httpOptions.baseUrl` set to
 * `${url}/gemini`. Keys come as `x-goog-api-key` (or `?key=`); errors are Google's `{error: {code, message, status}}`.
 * With `geminiWebhook`, a batch's end is sent as Gemini's static webhook event (./webhooks.ts).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { headerValue } from '../../kernel/auth';
import { limitsOf } from '../../kernel/limits';
import type { ProviderModule } from '../../kernel/provider';
import { geminiError, sendGeminiError } from './errors';
import { geminiRoutes } from './routes';
import { GeminiStore } from './store';
import { startGeminiWebhooks } from './webhooks';

/** Inline requests total under 20 MB; an input file is at most 2 GB. */
const MAX_INLINE_BYTES = 20_000_000;
const MAX_FILE_BYTES = 2_000_000_000;

function authenticate(req: IncomingMessage, url: URL, expected: string | null): void {
  // The upload URL the start call hands out is the session's credential, as Google's is.
  if (url.searchParams.has('upload_id')) return;
  const key = headerValue(req.headers['x-goog-api-key']) || (url.searchParams.get('key') ?? '');
  if (key === '') {
    throw geminiError(
      403,
      "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    );
  }
  if (expected !== null && key !== expected) throw geminiError(400, 'API key not valid. Please pass a valid API key.');
}

export const gemini: ProviderModule = {
  name: 'gemini',
  basePath: '',
  create(kernel) {
    const { options } = kernel;
    const limits = limitsOf('gemini', { maxRequestsPerBatch: 100_000, maxBytesPerBatch: MAX_FILE_BYTES, requiresSingleModel: true, metadata: null });
    const store = new GeminiStore(
      path.join(kernel.dataDir, 'gemini'),
      kernel.now,
      { rate: options.rate, validationMs: options.validationMs, cancellingMs: options.cancellingMs },
      Math.min(options.maxRequests ?? Infinity, limits.maxRequestsPerBatch),
    );
    const ctx = {
      kernel,
      store,
      maxInlineBytes: Math.min(options.maxBytes ?? Infinity, MAX_INLINE_BYTES),
      maxFileBytes: options.maxBytes ?? limits.maxBytesPerBatch,
    };
    let stopWebhooks = () => undefined as void;
    return {
      name: 'gemini',
      routes: geminiRoutes(ctx),
      authenticate: (req, _path, url) => authenticate(req, url, options.apiKey),
      sendError: (res, err) => sendGeminiError(res, err),
      requestIds: { headers: ['x-goog-request-id'], next: () => randomBytes(8).toString('hex') },
      store: {
        init: async () => {
          await store.init();
          // Gemini's static batch webhooks, when the sandbox is given where to send them.
          if (options.geminiWebhook) stopWebhooks = startGeminiWebhooks(store, options.geminiWebhook, options.log);
        },
        stats: () => ({ ...store.counters, batchesByStatus: store.countByStatus() }),
        drain: async () => {
          stopWebhooks();
          await store.drain();
        },
      },
    };
  },
};
