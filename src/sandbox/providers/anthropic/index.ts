/** The `anthropic` module: the Message Batches API at `/anthropic/v1/messages/batches` (and the prefix-less alias). */
import path from 'node:path';
import { limitsOf } from '../../kernel/limits';
import type { ProviderModule } from '../../kernel/provider';
import { authenticateAnthropic } from './auth';
import type { AnthropicContext } from './context';
import { sendAnthropicError } from './errors';
import { newAnthropicRequestId } from './ids';
import { anthropicRoutes } from './routes';
import { MessageBatchStore } from './store';

const MB = 1024 * 1024;

export const anthropic: ProviderModule = {
  name: 'anthropic',
  basePath: '',
  create(kernel) {
    const { options } = kernel;
    const limits = limitsOf('anthropic', { maxRequestsPerBatch: 100_000, maxBytesPerBatch: 256 * MB, requiresSingleModel: false, metadata: null });
    const batches = new MessageBatchStore({
      dir: path.join(kernel.dataDir, 'anthropic', 'message-batches'),
      tmpDir: kernel.tmpDir,
      now: kernel.now,
      timing: { rate: options.rate, cancellingMs: options.cancellingMs },
      // A lower `maxRequests` applies; a higher one does not lift Anthropic's own limit.
      maxRequests: Math.min(options.maxRequests ?? Infinity, limits.maxRequestsPerBatch),
      requestFault: () => kernel.faults.requestFault(),
    });
    const ctx: AnthropicContext = { kernel, batches, maxBytes: options.maxBytes ?? limits.maxBytesPerBatch, counters: { batchesCreated: 0, batchCancels: 0 } };
    return {
      name: 'anthropic',
      routes: anthropicRoutes(ctx),
      authenticate: (req) => authenticateAnthropic(req, options.apiKey),
      sendError: sendAnthropicError,
      requestIds: { headers: ['request-id'], next: newAnthropicRequestId },
      store: {
        init: () => batches.init(),
        stats: () => ({ filesCreated: 0, ...ctx.counters, batchesByStatus: batches.countByStatus() }),
        drain: () => batches.drain(),
      },
    };
  },
};
