/**
 * The provider registry (src/providers/registry.ts): one line per provider, each a complete definition whose
 * facts every reader takes from it (names, capabilities, options, completion windows, clients).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../src/errors';
import { parseCreateOptions, checkProvider } from '../../src/options';
import { PROVIDERS, lineShape, OPENAI_LINE } from '../../src/providers/catalog';
import { REGISTRY, getAdapter, isProviderName, providerDefinition, supportedProviders } from '../../src/providers/registry';
import type { ProviderName } from '../../src/providers/registry';
import { COMMON_CREATE_OPTION_NAMES } from '../../src/options';
import { ENDPOINTS } from '../../src/results/types';
import { ProviderError, preparedFile, type ProviderConnection } from '../../src/providers/types';
import { groqBaseURL } from '../../src/providers/groq';
import { cerebrasBaseURL } from '../../src/providers/cerebras';
import { azureApiVersion } from '../../src/providers/azureopenai/client';
import { DEFAULT_AZURE_API_VERSION } from '../../src/providers/azureopenai/options';

const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'];

describe('every provider in the registry has a complete definition', () => {
  test.each(supportedProviders())('%s', (name) => {
    const d = REGISTRY[name];
    expect(d.name).toBe(name);
    expect(d.label).toMatch(/\S/);
    // The catalog's row is the definition's capabilities: one source of truth.
    expect(d.capabilities).toBe(PROVIDERS[name]);
    expect(d.capabilities.name).toBe(name);
    const c = d.capabilities;
    expect(c.endpoints.length).toBeGreaterThan(0);
    for (const endpoint of c.endpoints) expect(ENDPOINTS).toContain(endpoint);
    for (const endpoint of Object.keys(c.nativeLines ?? {})) expect(c.endpoints).toContain(endpoint);
    expect(Number.isInteger(c.maxRequestsPerBatch) && c.maxRequestsPerBatch > 0).toBe(true);
    expect(Number.isInteger(c.maxBytesPerBatch) && c.maxBytesPerBatch > 0).toBe(true);
    expect(c.completionWindows[0]).toBe('24h');
    // Its failure codes and its pricing are its own facts (src/providers/batch-failures.ts and src/cost read them).
    expect(Array.isArray(c.failures.tooLargeMessages)).toBe(true);
    const pricing = c.pricing as import('../../src/providers/capabilities').Pricing;
    if (pricing.dataset === null) expect(pricing.noPrices).toMatch(/\S/);
    if (pricing.batchDiscount) {
      expect(pricing.batchDiscount.discount).toBeGreaterThanOrEqual(0);
      expect(pricing.batchDiscount.discount).toBeLessThan(1);
      expect(pricing.batchDiscount.source).toMatch(/^https:\/\//);
    }
    if (c.minRequestsPerBatch !== undefined) expect(c.minRequestsPerBatch).toBeLessThanOrEqual(c.maxRequestsPerBatch);
    expect(new Set(c.completionWindows).size).toBe(c.completionWindows.length);
    // An API key's variable; Bedrock's is AWS's own for its API keys (bearer tokens).
    expect(d.env.apiKey).toMatch(/^[A-Z][A-Z0-9_]*_API_KEY$|^AWS_BEARER_TOKEN_BEDROCK$/);
    expect(d.env.baseURL).toMatch(/^[A-Z][A-Z0-9_]*$/);
    if (d.defaultBaseURL !== null) expect(new URL(d.defaultBaseURL).protocol).toBe('https:');
    if (c.metadata === null) expect(d.reservedMetadata).toEqual([]);
    else expect(d.reservedMetadata.length).toBeLessThan(c.metadata.maxPairs);
    for (const status of Object.values(d.statusMap ?? {})) expect(BATCH_STATUSES).toContain(status);
    // Provider options never shadow a common option, and each belongs to one provider.
    expect(new Set(d.options.names).size).toBe(d.options.names.length);
    for (const option of d.options.names) expect(COMMON_CREATE_OPTION_NAMES).not.toContain(option);
    expect(d.options.parse({})).toEqual({});
    const adapter = getAdapter(name);
    expect(adapter.capabilities).toBe(d.capabilities);
    expect(getAdapter(name)).toBe(adapter);
  });

  test('provider option names are unique across providers', () => {
    const all = Object.values(REGISTRY).flatMap((d) => d.options.names);
    expect(new Set(all).size).toBe(all.length);
  });

  test('the catalog lists exactly the registry providers', () => {
    expect(Object.keys(PROVIDERS).sort()).toEqual(supportedProviders().slice().sort());
  });
});

describe('ProviderName and the supported providers derive from the registry', () => {
  test('supportedProviders is the registry, in order', () => {
    expect(supportedProviders()).toEqual(Object.keys(REGISTRY));
    expect(supportedProviders()).toEqual(['openai', 'anthropic', 'azureopenai', 'groq', 'xai', 'gemini', 'mistral', 'together', 'nebius', 'dashscope', 'moonshot', 'cerebras', 'bedrock', 'vertexai', 'openai-compatible']);
  });

  test('names are checked against it', () => {
    for (const name of supportedProviders()) {
      expect(isProviderName(name)).toBe(true);
      expect(checkProvider(name)).toBe(name);
      expect(providerDefinition(name).name).toBe(name);
    }
    for (const bad of ['azure', 'Groq', 'toString', '', 1]) expect(isProviderName(bad)).toBe(false);
    expect(() => providerDefinition('azure')).toThrow(
      new UsageError('Provider "azure" is not supported; supported: openai, anthropic, azureopenai, groq, xai, gemini, mistral, together, nebius, dashscope, moonshot, cerebras, bedrock, vertexai, openai-compatible.'),
    );
    expect(() => getAdapter('toString')).toThrow(UsageError);
  });
});

describe('completion windows are validated per provider', () => {
  const window = (provider: ProviderName, completionWindow?: string) => parseCreateOptions(provider, completionWindow === undefined ? {} : { completionWindow }).completionWindow;

  test.each(supportedProviders())('%s defaults to 24h', (provider) => {
    expect(window(provider)).toBe('24h');
    expect(window(provider, '24h')).toBe('24h');
  });

  test.each(['48h', '72h', '168h', '2d', '7d'])('groq takes %s', (w) => {
    expect(window('groq', w)).toBe(w);
  });

  test.each<[ProviderName, string]>([
    ['dashscope', '48h'],
    ['dashscope', '336h'],
    ['moonshot', '12h'],
    ['moonshot', '3d'],
    ['moonshot', '168h'],
  ])('%s takes %s', (provider, w) => {
    expect(window(provider, w)).toBe(w);
  });

  test.each<[ProviderName, string]>([
    ['groq', '8d'],
    ['groq', '12h'],
    ['groq', '1w'],
    ['openai', '48h'],
    ['anthropic', '7d'],
    ['azureopenai', '48h'],
    ['nebius', '48h'],
    ['cerebras', '48h'],
    ['dashscope', '360h'],
    ['moonshot', '8d'],
  ])('%s refuses %s, listing its windows', (provider, w) => {
    expect(() => window(provider, w)).toThrow(UsageError);
    const expected = ['groq', 'dashscope', 'moonshot'].includes(provider) ? /use one of 24h, .*[dh]\.$/ : /use 24h\.$/;
    expect(() => window(provider, w)).toThrow(expected);
  });
});

describe('provider options', () => {
  test('azureopenai takes apiVersion; other providers say whose it is', () => {
    expect(parseCreateOptions('azureopenai', { apiVersion: '2024-10-21' }).providerOptions).toEqual({ apiVersion: '2024-10-21' });
    expect(() => parseCreateOptions('azureopenai', { apiVersion: 2024 })).toThrow(/^apiVersion must be an Azure OpenAI API version/);
    expect(() => parseCreateOptions('azureopenai', { apiVersion: 'a b' })).toThrow(UsageError);
    expect(() => parseCreateOptions('groq', { apiVersion: 'x' })).toThrow('Unknown option "apiVersion" for createBatch (groq); it is an option of azureopenai');
    expect(() => parseCreateOptions('groq', { defaultMaxTokens: 1 })).toThrow('it is an option of anthropic');
  });

  test("a provider's reserved metadata key is refused, and counts against its limit", () => {
    expect(() => parseCreateOptions('groq', { metadata: { anybatch_key: 'x' } })).toThrow('metadata key "anybatch_key" is reserved');
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(parseCreateOptions('azureopenai', { metadata: pairs(15) }).metadata).toEqual(pairs(15));
    expect(() => parseCreateOptions('azureopenai', { metadata: pairs(16) })).toThrow('metadata has 16 pairs; azureopenai allows 15 (anybatch uses one).');
  });
});

describe('native line shapes come from the provider', () => {
  test('Anthropic /v1/messages lines are {custom_id, params}; everything else is OpenAI lines', () => {
    expect(lineShape(PROVIDERS.anthropic, '/v1/messages')).toEqual({ payload: 'params', envelope: false, shape: '{"custom_id", "params"}' });
    expect(lineShape(PROVIDERS.anthropic, '/v1/chat/completions')).toBe(OPENAI_LINE);
    for (const name of ['openai', 'groq', 'azureopenai'] as const) expect(lineShape(PROVIDERS[name], '/v1/chat/completions')).toBe(OPENAI_LINE);
  });
});

/** A loopback stand-in that records each request and answers like OpenAI's Batches API (with a batch in `status`). */
async function recorder(status = 'validating'): Promise<{ url: string; requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[]; close(): Promise<void> }> {
  const requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const batch = { id: 'batch_1', object: 'batch', endpoint: '/v1/chat/completions', status, created_at: 2_000_000_000, input_file_id: 'file_1', completion_window: '24h' };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      const list = req.method === 'GET' && /\/batches(\?|$)/.test(req.url!);
      res.end(JSON.stringify(list ? { object: 'list', data: [], has_more: false } : batch));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('OpenAI-compatible clients', () => {
  let server: Awaited<ReturnType<typeof recorder>>;
  const saved = { ...process.env };
  beforeEach(async () => {
    server = await recorder();
    // What a worker set up for OpenAI might hold: none of it may leak into another provider's requests.
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:9/v1';
    process.env.OPENAI_ORG_ID = 'org-openai';
    delete process.env.OPENAI_API_VERSION;
    delete process.env.AZURE_OPENAI_ENDPOINT;
    delete process.env.GROQ_BASE_URL;
  });
  afterEach(async () => {
    process.env = { ...saved };
    await server.close();
  });
  /** A new adapter (and so new clients) each time: clients are cached by connection, and these tests change the env. */
  const fresh = (provider: ProviderName) => REGISTRY[provider].createAdapter();
  const conn = (apiBase: string | undefined, options: Record<string, unknown> = {}): ProviderConnection => ({ apiKey: 'key-0123456789', apiBase, options });
  const create = (provider: ProviderName, c: ProviderConnection) =>
    fresh(provider).createBatch(c, {
      input: { path: '/x/part.jsonl', requestCount: 1, bytes: 10, idempotencyKey: 'ab_1/0', notBefore: 0, endpoint: '/v1/chat/completions', options: {}, workDir: '/x' },
      prepared: preparedFile('file_1'),
      endpoint: '/v1/chat/completions',
      completionWindow: '24h',
      metadata: null,
    });

  test('Azure: the resource endpoint gets /openai, api-version on every request, the api-key header, no deployment path', async () => {
    await create('azureopenai', conn(`${server.url}/azureopenai`));
    const [list, post] = server.requests;
    expect(list.url).toBe(`/azureopenai/openai/batches?api-version=${DEFAULT_AZURE_API_VERSION}&limit=100`);
    expect(post.method).toBe('POST');
    expect(post.url).toBe(`/azureopenai/openai/batches?api-version=${DEFAULT_AZURE_API_VERSION}`);
    expect(post.headers['api-key']).toBe('key-0123456789');
    expect(post.headers.authorization).toBeUndefined();
    expect(post.headers['openai-organization']).toBeUndefined();
    const body = JSON.parse(post.body);
    // Azure's create takes `endpoint: "/chat/completions"` (its REST spec's post_batch example and both its guides).
    expect(body).toMatchObject({ input_file_id: 'file_1', endpoint: '/chat/completions', completion_window: '24h', metadata: { anybatch_key: 'ab_1/0' } });
    expect(body).not.toHaveProperty('model');
  });

  test('Azure: an /openai base is used as it is; the apiVersion option wins over OPENAI_API_VERSION', async () => {
    process.env.OPENAI_API_VERSION = '2024-10-21';
    await fresh('azureopenai').retrieveBatch(conn(`${server.url}/res/openai/`, { apiVersion: '2025-04-01-preview' }), 'batch_1');
    expect(server.requests[0].url).toBe('/res/openai/batches/batch_1?api-version=2025-04-01-preview');
    await fresh('azureopenai').retrieveBatch(conn(`${server.url}/res/openai`), 'batch_1');
    expect(server.requests[1].url).toBe('/res/openai/batches/batch_1?api-version=2024-10-21');
    expect(azureApiVersion({})).toBe('2024-10-21');
  });

  test('Azure: AZURE_OPENAI_ENDPOINT is the default endpoint, and without one the batch cannot reach Azure', async () => {
    process.env.AZURE_OPENAI_ENDPOINT = `${server.url}/env-resource`;
    await fresh('azureopenai').retrieveBatch(conn(undefined), 'batch_1');
    expect(server.requests[0].url).toMatch(/^\/env-resource\/openai\/batches\/batch_1\?api-version=/);
    delete process.env.AZURE_OPENAI_ENDPOINT;
    const err = await fresh('azureopenai').retrieveBatch(conn(undefined), 'batch_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('bad_endpoint');
    expect((err as ProviderError).message).toContain('AZURE_OPENAI_ENDPOINT');
  });

  test('Azure: a base ending in /openai/v1 is the v1 API: Bearer key, no api-version', async () => {
    await fresh('azureopenai').retrieveBatch(conn(`${server.url}/azureopenai/openai/v1`), 'batch_1');
    const [req] = server.requests;
    expect(req.url).toBe('/azureopenai/openai/v1/batches/batch_1');
    expect(req.headers.authorization).toBe('Bearer key-0123456789');
  });

  test('Groq: its base URL with or without /openai/v1, Bearer key, no OpenAI organization header', async () => {
    await create('groq', conn(`${server.url}/groq`));
    await fresh('groq').retrieveBatch(conn(`${server.url}/groq/openai/v1/`), 'batch_1');
    expect(server.requests.map((r) => r.url)).toEqual(['/groq/openai/v1/batches?limit=100', '/groq/openai/v1/batches', '/groq/openai/v1/batches/batch_1']);
    const post = server.requests[1];
    expect(post.headers.authorization).toBe('Bearer key-0123456789');
    expect(post.headers['openai-organization']).toBeUndefined();
    expect(JSON.parse(post.body)).toMatchObject({ endpoint: '/v1/chat/completions', metadata: { anybatch_key: 'ab_1/0' } });
    expect(groqBaseURL('https://api.groq.com')).toBe('https://api.groq.com/openai/v1');
    expect(groqBaseURL('https://api.groq.com/openai/v1/')).toBe('https://api.groq.com/openai/v1');
  });

  test('Groq: GROQ_BASE_URL is read, never OPENAI_BASE_URL', async () => {
    process.env.GROQ_BASE_URL = `${server.url}/from-env`;
    await fresh('groq').retrieveBatch(conn(undefined), 'batch_1');
    expect(server.requests[0].url).toBe('/from-env/openai/v1/batches/batch_1');
  });

  test("a refused key names the provider's own variable", async () => {
    const err = await fresh('groq').retrieveBatch({ apiBase: server.url }, 'batch_1').catch((e: unknown) => e);
    expect((err as ProviderError).kind).toBe('auth');
    expect((err as Error).message).toBe('No Groq API key: pass --api-key on the CLI or apiKey in the library, or set GROQ_API_KEY in the worker environment.');
  });

  test.each<[ProviderName, string, string, string]>([
    ['nebius', 'https://api.tokenfactory.nebius.com/v1', 'NEBIUS_API_KEY', 'NEBIUS_BASE_URL'],
    ['dashscope', 'https://dashscope.aliyuncs.com/compatible-mode/v1', 'DASHSCOPE_API_KEY', 'DASHSCOPE_BASE_URL'],
    ['moonshot', 'https://api.moonshot.ai/v1', 'MOONSHOT_API_KEY', 'MOONSHOT_BASE_URL'],
    ['cerebras', 'https://api.cerebras.ai/v1', 'CEREBRAS_API_KEY', 'CEREBRAS_BASE_URL'],
  ])('%s: a configuration of the OpenAI adapter at %s, its key in %s, its base URL in %s', async (provider, base, keyEnv, baseEnv) => {
    const d = REGISTRY[provider];
    expect([d.defaultBaseURL, d.env.apiKey, d.env.baseURL]).toEqual([base, keyEnv, baseEnv]);
    expect(d.reservedMetadata).toEqual(['anybatch_key']);
    process.env[baseEnv] = `${server.url}/${provider}/v1`;
    await create(provider, conn(undefined));
    const [list, post] = server.requests;
    expect(list.url).toBe(`/${provider}/v1/batches?limit=100`);
    expect([post.method, post.url, post.headers.authorization]).toEqual(['POST', `/${provider}/v1/batches`, 'Bearer key-0123456789']);
    expect(JSON.parse(post.body)).toMatchObject({ input_file_id: 'file_1', endpoint: '/v1/chat/completions', metadata: { anybatch_key: 'ab_1/0' } });
    delete process.env[baseEnv];
  });

  test('Cerebras: a cancel is DELETE /v1/batches/{id}; its base URL with or without /v1', async () => {
    await fresh('cerebras').cancelBatch(conn(`${server.url}/cerebras`), 'batch_1');
    await fresh('cerebras').retrieveBatch(conn(`${server.url}/cerebras/v1/`), 'batch_1');
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /cerebras/v1/batches/batch_1', 'GET /cerebras/v1/batches/batch_1']);
    expect(cerebrasBaseURL('https://api.cerebras.ai')).toBe('https://api.cerebras.ai/v1');
    // Every other OpenAI-format provider cancels with OpenAI's POST .../cancel.
    await fresh('nebius').cancelBatch(conn(`${server.url}/nebius/v1`), 'batch_1');
    expect(server.requests[2]).toMatchObject({ method: 'POST', url: '/nebius/v1/batches/batch_1/cancel' });
  });

  test("Cerebras: its queued status reads as in_progress (its definition's statusMap)", async () => {
    const queued = await recorder('queued');
    try {
      const batch = await getAdapter('cerebras').retrieveBatch(conn(`${queued.url}/v1`), 'batch_1');
      expect(batch.status).toBe('in_progress');
      expect(REGISTRY.cerebras.statusMap).toMatchObject({ queued: 'in_progress' });
    } finally {
      await queued.close();
    }
  });
});
