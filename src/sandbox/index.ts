/**
 * The sandbox provider: a local server speaking OpenAI's Files and Batches APIs, so the official `openai`
 * SDK (and anything else) can run batches offline. It knows nothing of the orchestrator.
 */
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BatchStore } from './batches';
import { FaultInjector } from './faults';
import { FileStore } from './files';
import { checkFaults, resolveOptions } from './options';
import type { Counters, RouteContext } from './routes';
import { createSandboxServer } from './server';

export interface SandboxFaults {
  /** 0..1 probability per API request of a 429 {error:{type:'rate_limit_exceeded'...}} with `retry-after` header. */
  rate429?: number;
  /** Value of retry-after on injected 429s (default 1). */
  retryAfterSeconds?: number;
  /** 0..1 probability of a 500 server_error. */
  rate500?: number;
  /** 0..1 probability of destroying the socket without a response. */
  rateDrop?: number;
  /** Added latency per request. */
  slowMs?: number;
  /** Every new batch fails validation (status 'failed', errors.data with code/line/message). */
  failValidation?: boolean;
  /** Batches expire this long after creation (default: the completion window, 24h). */
  expireAfterSeconds?: number;
  /** POST /v1/batches registers the batch at once but delays the HTTP response. */
  createResponseDelayMs?: number;
  /** Throttle GET /v1/files/{id}/content. */
  downloadBytesPerSecond?: number;
  /** 0..1 probability that a file content download is cut off midway (socket destroyed after about half the bytes). */
  truncateDownloads?: number;
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
  /** Time spent in 'validating' (default 300). */
  validationMs?: number;
  /** Time spent in 'finalizing' (default 200). */
  finalizingMs?: number;
  /** Time spent in 'cancelling' (default 300). */
  cancellingMs?: number;
  /** Per-batch request limit (default from the catalog, 50,000). */
  maxRequests?: number;
  /** Per-batch input bytes limit (default from the catalog, 200 MB). */
  maxBytes?: number;
  /** When set, only this bearer key is accepted; otherwise any non-empty key. */
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
  /** API requests served (incl. faulted ones). */
  requests: number;
  faults: { rate429: number; rate500: number; drops: number; truncated: number };
  /** GET /files/{id}/content responses currently streaming. */
  contentDownloadsInFlight: number;
  batchesByStatus: Record<string, number>;
}

export interface Sandbox {
  /** 'http://127.0.0.1:PORT' (the OpenAI base URL is url + '/v1'). */
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
  await fs.mkdir(tmpDir, { recursive: true });
  await files.init();
  await batches.init();

  const faults = new FaultInjector(opts.faults);
  const counters: Counters = { filesCreated: 0, batchesCreated: 0, batchCancels: 0, requests: 0, contentDownloadsInFlight: 0 };
  const ctx: RouteContext = { options: opts, files, batches, faults, counters, tmpDir };
  const stats = (): SandboxStats => ({
    filesCreated: counters.filesCreated,
    batchesCreated: counters.batchesCreated,
    batchCancels: counters.batchCancels,
    requests: counters.requests,
    faults: { ...faults.counts },
    contentDownloadsInFlight: counters.contentDownloadsInFlight,
    batchesByStatus: batches.countByStatus(),
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

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    destroySockets();
    await closed;
    await batches.drain();
    if (ownsDataDir) await fs.rm(dataDir, { recursive: true, force: true });
  };

  return {
    url: `http://${urlHost(opts.host)}:${port}`,
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
