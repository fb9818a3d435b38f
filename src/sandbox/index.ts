/**
 * The sandbox provider: a local server speaking OpenAI's Files and Batches APIs and Anthropic's Message
 * Batches API, so the official `openai` and `@anthropic-ai/sdk` SDKs (and anything else) can run batches
 * offline. It knows nothing of the orchestrator.
 */
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MessageBatchStore } from './anthropic/store';
import { BatchStore } from './batches';
import { FaultInjector } from './faults';
import { FileStore } from './files';
import { checkFaults, resolveOptions } from './options';
import type { Counters, RouteContext } from './routes';
import { createSandboxServer } from './server';

export interface SandboxFaults {
  /** 0..1 probability per API request of a 429 (rate_limit_exceeded; Anthropic: rate_limit_error) with `retry-after` header. */
  rate429?: number;
  /** Value of retry-after on injected 429s (default 1). */
  retryAfterSeconds?: number;
  /** 0..1 probability of a 500 server_error. */
  rate500?: number;
  /** 0..1 probability of destroying the socket without a response. */
  rateDrop?: number;
  /** Added latency per request. */
  slowMs?: number;
  /** Every new batch fails validation (status 'failed', errors.data with code/line/message); every request of a new Anthropic batch is `errored`. */
  failValidation?: boolean;
  /** Batches expire this long after creation (default: the completion window, 24h). */
  expireAfterSeconds?: number;
  /** POST /v1/batches and POST /v1/messages/batches register the batch at once but delay the HTTP response. */
  createResponseDelayMs?: number;
  /** Throttle GET /v1/files/{id}/content and GET /v1/messages/batches/{id}/results. */
  downloadBytesPerSecond?: number;
  /** 0..1 probability that a file content or results download is cut off midway (socket destroyed after about half the bytes). */
  truncateDownloads?: number;
  /**
   * Every `/v1/*` API request answers with this status (400..599) and the provider's error shape, before auth:
   * OpenAI's `{"error":{"message","type","param":null,"code"}}` (401 `invalid_api_key`, 403 `permission_denied`,
   * 404 `not_found`, 429 `rate_limit_exceeded` with retry-after, 5xx `server_error`); under `/v1/messages`, Anthropic's.
   */
  forceStatus?: number;
  /**
   * The models that exist. A new OpenAI batch with a request for another model fails validation the way OpenAI's
   * does: status `failed`, `errors.data` of one `model_not_found` error (param `body.model`, the line of the
   * first such request). Requests without a model are not checked.
   */
  models?: string[];
  /** PRNG seed for the rates above (deterministic). */
  seed?: number;
}

export interface SandboxOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Requests processed per second per batch once in_progress (default 50). */
  rate?: number;
  /** Time spent in 'validating' (default 300; OpenAI only, Message Batches start in_progress). */
  validationMs?: number;
  /** Time spent in 'finalizing' (default 200; OpenAI only). */
  finalizingMs?: number;
  /** Time spent in 'cancelling' / 'canceling' (default 300). */
  cancellingMs?: number;
  /** Per-batch request limit (default from the catalog: 50,000 for OpenAI, 100,000 for Anthropic, which uses it only when lower). */
  maxRequests?: number;
  /** Per-batch input bytes limit (default from the catalog: 200 MB for OpenAI uploads, 256 MB for Anthropic create bodies). */
  maxBytes?: number;
  /** When set, only this key is accepted (bearer, or Anthropic's x-api-key); otherwise any non-empty key. */
  apiKey?: string;
  faults?: SandboxFaults;
  /** Where uploaded and generated files are stored (default: a fresh temp dir, removed on close). */
  dataDir?: string;
  /** Clock in ms (default Date.now); all state is derived from it lazily. */
  now?: () => number;
  /** Optional request log. */
  log?: (line: string) => void;
}

export interface SandboxStats {
  filesCreated: number;
  batchesCreated: number;
  batchCancels: number;
  /** Anthropic Message Batches created and cancels accepted. */
  messageBatchesCreated: number;
  messageBatchCancels: number;
  /** API requests served (incl. faulted ones). */
  requests: number;
  faults: { rate429: number; rate500: number; drops: number; truncated: number };
  /** GET /files/{id}/content responses currently streaming. */
  contentDownloadsInFlight: number;
  /** OpenAI batches by status; Anthropic ones keyed `anthropic:<processing_status>`. */
  batchesByStatus: Record<string, number>;
}

export interface Sandbox {
  /** 'http://127.0.0.1:PORT' (the OpenAI base URL is url + '/v1'; the Anthropic base URL is url itself). */
  url: string;
  port: number;
  stats(): SandboxStats;
  /** Replace the fault settings at runtime. */
  setFaults(faults: SandboxFaults): void;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const opts = resolveOptions(options);
  const ownsDataDir = opts.dataDir === null;
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'anybatch-sandbox-')));
  const tmpDir = path.join(dataDir, 'tmp');
  const files = new FileStore(path.join(dataDir, 'files'), opts.now);
  const batches = new BatchStore({
    files,
    dir: path.join(dataDir, 'batches'),
    tmpDir,
    now: opts.now,
    timing: { validationMs: opts.validationMs, finalizingMs: opts.finalizingMs, cancellingMs: opts.cancellingMs, rate: opts.rate },
    maxRequests: opts.maxRequests,
  });
  let url = ''; // set once the server listens; only read when a batch has ended
  const messageBatches = new MessageBatchStore({
    dir: path.join(dataDir, 'message-batches'),
    tmpDir,
    now: opts.now,
    timing: { rate: opts.rate, cancellingMs: opts.cancellingMs },
    maxRequests: opts.anthropic.maxRequests,
    baseUrl: () => url,
  });
  await fs.mkdir(tmpDir, { recursive: true });
  await files.init();
  await batches.init();
  await messageBatches.init();

  const faults = new FaultInjector(opts.faults);
  const counters: Counters = {
    filesCreated: 0,
    batchesCreated: 0,
    batchCancels: 0,
    messageBatchesCreated: 0,
    messageBatchCancels: 0,
    requests: 0,
    contentDownloadsInFlight: 0,
  };
  const ctx: RouteContext = { options: opts, files, batches, messageBatches, faults, counters, tmpDir };
  const stats = (): SandboxStats => ({
    filesCreated: counters.filesCreated,
    batchesCreated: counters.batchesCreated,
    batchCancels: counters.batchCancels,
    messageBatchesCreated: counters.messageBatchesCreated,
    messageBatchCancels: counters.messageBatchCancels,
    requests: counters.requests,
    faults: { ...faults.counts },
    contentDownloadsInFlight: counters.contentDownloadsInFlight,
    batchesByStatus: { ...batches.countByStatus(), ...messageBatches.countByStatus() },
  });
  const { server, destroySockets } = createSandboxServer(ctx, stats);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  url = `http://${urlHost(opts.host)}:${port}`;

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    destroySockets();
    await closed;
    await Promise.all([batches.drain(), messageBatches.drain()]);
    if (ownsDataDir) await fs.rm(dataDir, { recursive: true, force: true });
  };

  return {
    url,
    port,
    stats,
    setFaults: (next) => faults.set(checkFaults(next)),
    close: () => (closing ??= close()),
  };
}

/** A host clients can dial: wildcard binds are reached through loopback; IPv6 literals need brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
