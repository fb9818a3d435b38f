/**
 * The OpenAI Files and Batches emulation, built for one dialect: its stores, its route table and its way of
 * admitting requests and rendering errors. OpenAI, Groq, Azure OpenAI and the batch clouds are each one call of this.
 */
import path from 'node:path';
import { limitsOf } from '../../kernel/limits';
import type { Kernel, ProviderModule, SandboxProvider } from '../../kernel/provider';
import { BatchStore } from './batches';
import type { OpenAIContext } from './context';
import type { OpenAIDialect } from './dialect';
import { FileStore } from './files';
import { openAIRoutes } from './routes';
import { startWebhooks } from './webhooks';

export function openAICompatible(kernel: Kernel, dialect: OpenAIDialect): SandboxProvider {
  const { options } = kernel;
  const dir = path.join(kernel.dataDir, dialect.name);
  const catalog = limitsOf(dialect.name, dialect.limits);
  const limits = {
    maxRequestsPerBatch: options.maxRequests ?? catalog.maxRequestsPerBatch,
    maxBytesPerBatch: options.maxBytes ?? catalog.maxBytesPerBatch,
    requiresSingleModel: catalog.requiresSingleModel,
    metadata: catalog.metadata,
  };
  const files = new FileStore(path.join(dir, 'files'), kernel.now);
  const batches = new BatchStore({
    files,
    dir: path.join(dir, 'batches'),
    tmpDir: kernel.tmpDir,
    now: kernel.now,
    timing: {
      validationMs: options.validationMs,
      finalizingMs: options.finalizingMs,
      cancellingMs: options.cancellingMs,
      rate: options.rate,
      // A `queued` dialect's batches wait as long again as their validation took.
      queuedMs: dialect.queued ? options.validationMs : 0,
    },
    maxRequests: limits.maxRequestsPerBatch,
    singleModel: limits.requiresSingleModel,
    shuffleResults: dialect.shuffleResults,
    enqueuedTokenLimit: options.enqueuedTokenLimit,
    requestFault: () => kernel.faults.requestFault(),
    lines: {
      ...(dialect.endpoints ? { lineEndpoint: (url: unknown) => (typeof url === 'string' ? dialect.endpoints!.canonical(url) : null), fileDecides: dialect.endpoints.fileDecides } : {}),
      ...(dialect.minRequestsPerBatch !== undefined ? { minRequests: dialect.minRequestsPerBatch, label: dialect.name } : {}),
    },
  });
  let stopWebhooks = () => undefined as void;
  const ctx: OpenAIContext = { kernel, dialect, files, batches, limits, counters: { filesCreated: 0, batchesCreated: 0, batchCancels: 0 } };
  return {
    name: dialect.name,
    routes: openAIRoutes(ctx),
    authenticate: (req, pathname, url) => dialect.authenticate(req, pathname, url, options.apiKey),
    sendError: (res, err, requestId) => dialect.sendError(res, err, requestId),
    requestIds: dialect.requestIds,
    store: {
      init: async () => {
        await files.init();
        await batches.init();
        // OpenAI's batch webhooks, when the sandbox is given where to send them (OpenAI's own module only).
        if (options.webhook && dialect.name === 'openai') stopWebhooks = startWebhooks(batches, options.webhook, options.log);
      },
      stats: () => ({ ...ctx.counters, batchesByStatus: batches.countByStatus() }),
      drain: async () => {
        stopWebhooks();
        await batches.drain();
      },
    },
  };
}

/** A provider module that is a dialect of the OpenAI emulation. */
export function openAICompatibleModule(dialect: OpenAIDialect): ProviderModule {
  return { name: dialect.name, basePath: dialect.basePath, create: (kernel) => openAICompatible(kernel, dialect) };
}
