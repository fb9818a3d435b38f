/**
 * The sandbox provider: a local server emulating providers' batch APIs (OpenAI's Files and Batches, Anthropic's
 * Message Batches, Groq's and Azure OpenAI's OpenAI-compatible ones), so their official SDKs (and anything
 * else) can run batches offline. One module per provider (`providers/`, behind `kernel/provider.ts`) over a
 * shared kernel (`kernel/`), each served under `/<name>`. It knows nothing of the orchestrator.
 */
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FaultInjector } from './kernel/faults';
import { checkFaults, resolveOptions } from './kernel/options';
import type { Kernel, SandboxProvider } from './kernel/provider';
import type { ProviderStats, SandboxFaults, SandboxOptions, SandboxStats } from './kernel/settings';
import { PROVIDER_MODULES, type SandboxProviderName } from './providers';
import { OnlineEndpoints } from './providers/online';
import { createSandboxServer } from './server';

export type { ProviderStats, SandboxFaults, SandboxOptions, SandboxStats } from './kernel/settings';
export type { ReceivedCredentials } from './kernel/auth';
export { SandboxSettingError } from './kernel/options';
export type { SandboxProviderName } from './providers';

/** The base URL to give each provider's SDK (and anybatch's `apiBase` / `--api-base`). */
export type SandboxBaseUrls = Record<SandboxProviderName, string>;

/**
 * One rule for every provider: `${url}/${name}` and then the provider's own base path. openai `${url}/openai/v1`,
 * anthropic `${url}/anthropic`, groq `${url}/groq/openai/v1`, azureopenai `${url}/azureopenai` (the `AzureOpenAI`
 * client's `endpoint`; it appends `/openai`; the v1 API is at `${url}/azureopenai/openai/v1`), dashscope
 * `${url}/dashscope/compatible-mode/v1`, nebius, moonshot and cerebras `${url}/<name>/v1`.
 */
export function sandboxBaseUrls(url: string): SandboxBaseUrls {
  const entries = Object.entries(PROVIDER_MODULES).map(([name, module]) => [name, `${url}/${name}${module.basePath}`]);
  return Object.fromEntries(entries) as SandboxBaseUrls;
}

export interface Sandbox {
  /**
   * 'http://127.0.0.1:PORT'. Each provider's base URL is in `baseUrls`; the prefix-less aliases from before the
   * prefixes still work (OpenAI at url + '/v1', Anthropic at url itself).
   */
  url: string;
  port: number;
  baseUrls: SandboxBaseUrls;
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
  const faults = new FaultInjector(opts.faults);
  const kernel: Kernel = { options: opts, faults, now: opts.now, dataDir, tmpDir, counters: { requests: 0, contentDownloadsInFlight: 0 }, credentials: new Map() };
  const providers = Object.values(PROVIDER_MODULES).map((module) => module.create(kernel));
  const online = new OnlineEndpoints(kernel, { rpm: options.rpm, tpm: options.tpm });
  await fs.mkdir(tmpDir, { recursive: true });
  for (const provider of providers) await provider.store.init();

  const stats = (): SandboxStats => sandboxStats(kernel, providers, online);
  let url = ''; // set once the server listens; read by handlers that answer with absolute URLs
  const { server, destroySockets } = createSandboxServer(kernel, providers, stats, () => url, online.routes);

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
    await Promise.all(providers.map((provider) => provider.store.drain()));
    if (ownsDataDir) await fs.rm(dataDir, { recursive: true, force: true });
  };

  return {
    url,
    port,
    baseUrls: sandboxBaseUrls(url),
    stats,
    setFaults: (next) => faults.set(checkFaults(next)),
    close: () => (closing ??= close()),
  };
}

/**
 * The OpenAI-format providers' files, batches and cancels add up in the top-level counters; Anthropic's Message
 * Batches have their own. Statuses are keyed `<provider>:<status>`, except OpenAI's, which are plain.
 */
function sandboxStats(kernel: Kernel, providers: readonly SandboxProvider[], online: OnlineEndpoints): SandboxStats {
  const byProvider: Record<string, ProviderStats> = {};
  for (const provider of providers) byProvider[provider.name] = provider.store.stats();
  const fileBased = Object.entries(byProvider).filter(([name]) => name !== 'anthropic').map(([, stats]) => stats);
  const sum = (key: 'filesCreated' | 'batchesCreated' | 'batchCancels'): number => fileBased.reduce((total, stats) => total + stats[key], 0);
  const batchesByStatus: Record<string, number> = {};
  for (const [name, stats] of Object.entries(byProvider)) {
    for (const [status, count] of Object.entries(stats.batchesByStatus)) batchesByStatus[name === 'openai' ? status : `${name}:${status}`] = count;
  }
  return {
    filesCreated: sum('filesCreated'),
    batchesCreated: sum('batchesCreated'),
    batchCancels: sum('batchCancels'),
    messageBatchesCreated: byProvider.anthropic.batchesCreated,
    messageBatchCancels: byProvider.anthropic.batchCancels,
    requests: kernel.counters.requests,
    faults: { ...kernel.faults.counts },
    contentDownloadsInFlight: kernel.counters.contentDownloadsInFlight,
    lastCredentials: Object.fromEntries(kernel.credentials),
    batchesByStatus,
    providers: byProvider,
    onlineCompletions: online.stats().completions,
    online: online.stats(),
  };
}

/** A host clients can dial: wildcard binds are reached through loopback; IPv6 literals need brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
