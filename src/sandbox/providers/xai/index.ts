/**
 * The `xai` module: xAI's REST batch API at `/xai/v1` (docs/provider-apis-2.md section 8): OpenAI-format JSONL
 * uploaded as a file, batches created from it by `{name, input_file_id}`, xAI's batch objects (no status, counts
 * in `state`), cancel as `POST /v1/batches/{id}:cancel`, results paged by `pagination_token`; Bearer auth; errors
 * as `{code, error}`. The stand-in model answers through the OpenAI responder (the lines are OpenAI's).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { limitsOf } from '../../kernel/limits';
import type { Kernel, ProviderModule, SandboxProvider } from '../../kernel/provider';
import { FileStore } from '../openai/files';
import { authenticateXai, sendXaiError } from './errors';
import { xaiRoutes, type XaiContext } from './routes';
import { XaiBatchStore } from './store';

const MB = 1024 * 1024;

function create(kernel: Kernel): SandboxProvider {
  const { options } = kernel;
  const catalog = limitsOf('xai', { maxRequestsPerBatch: 100_000, maxBytesPerBatch: 25 * MB, requiresSingleModel: false, metadata: null });
  const limits = { maxRequestsPerBatch: options.maxRequests ?? catalog.maxRequestsPerBatch, maxBytesPerBatch: options.maxBytes ?? catalog.maxBytesPerBatch };
  const files = new FileStore(path.join(kernel.dataDir, 'xai', 'files'), kernel.now);
  const batches = new XaiBatchStore(kernel.now, { validationMs: options.validationMs, cancellingMs: options.cancellingMs, rate: options.rate }, limits.maxRequestsPerBatch);
  const ctx: XaiContext = { kernel, files, batches, limits, counters: { filesCreated: 0, batchesCreated: 0, batchCancels: 0 }, lastCreateMs: null };
  return {
    name: 'xai',
    routes: xaiRoutes(ctx),
    authenticate: (req) => authenticateXai(req, options.apiKey),
    sendError: (res, err) => sendXaiError(res, err),
    requestIds: { headers: ['x-request-id'], next: () => randomUUID() },
    store: {
      init: () => files.init(),
      stats: () => ({ ...ctx.counters, batchesByStatus: batches.countByStatus() }),
      drain: async () => undefined,
    },
  };
}

export const xai: ProviderModule = { name: 'xai', basePath: '/v1', create };
