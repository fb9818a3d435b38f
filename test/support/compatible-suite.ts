/**
 * The end-to-end cases every OpenAI-compatible provider must pass, through the public API and the CLI, against
 * the run's Temporal server and the provider's own sandbox module (its base URL, its auth, its error shape):
 * happy path, cancel with partial results, expiry, validation failure at the provider, transient faults, a split
 * input. Each case is a few seconds. A suite file calls `compatibleProviderSuite(name)` and adds what is the
 * provider's own.
 */
import { cancelBatch, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch, CreateBatchOptions, ResultLine } from '../../src';
import { accountFor as accountForResults, untilTerminalBatch } from './batches';
import { runCli } from './cli';
import { eventually, startTestEnv, writeChatInput } from './env';
import type { TestEnv } from './env';

export type CompatibleProvider = 'groq' | 'azureopenai';

export interface CompatibleSuite {
  env(): TestEnv;
  /** Options of a batch at the provider's sandbox module. */
  opts(extra?: CreateBatchOptions<CompatibleProvider>): CreateBatchOptions<CompatibleProvider>;
  untilTerminal(id: string, timeoutMs?: number): Promise<AnybatchBatch>;
  /** Checks every `custom_id` of `prefix-0 .. prefix-(n-1)` is in exactly one result file; returns both files' lines. */
  accountFor(batch: AnybatchBatch, n: number, prefix?: string): { output: ResultLine[]; errors: ResultLine[] };
  /** Provider batches this provider's sandbox module created so far. */
  created(): number;
}

export function compatibleProviderSuite(provider: CompatibleProvider, settings: { model: string }): CompatibleSuite {
  let env: TestEnv;
  const input = (n: number, prefix = 'req') => writeChatInput(env.home, n, { prefix, model: settings.model });
  const baseUrl = () => env.sandbox.baseUrls[provider];

  beforeAll(async () => {
    env = await startTestEnv();
  });
  afterAll(async () => env?.teardown());
  afterEach(() => env.sandbox.setFaults({}));

  const suite: CompatibleSuite = {
    env: () => env,
    opts: (extra = {}) => ({ ...env.options, apiBase: baseUrl(), apiKey: `${provider}-test-key`, pollInterval: '200ms', ...extra }),
    untilTerminal: (id, timeoutMs) => untilTerminalBatch(provider, id, env.options, timeoutMs),
    accountFor: accountForResults,
    created: () => env.sandbox.stats().providers[provider]?.batchesCreated ?? 0,
  };
  const { opts, untilTerminal, accountFor } = suite;

  describe(`${provider} through the public API`, () => {
    test('a batch runs to completion at the provider and every custom_id has a chat.completion', async () => {
      const before = suite.created();
      const created = await createBatch(provider, input(20), '/v1/chat/completions', opts({ metadata: { team: 'qa' } }));
      expect(created.anybatch.provider).toBe(provider);
      expect(created.anybatch.provider_batches).toHaveLength(1);
      // It reached this provider's module, not another one's.
      expect(suite.created()).toBe(before + 1);
      const done = await untilTerminal(created.id);
      expect(done.status).toBe('completed');
      expect(done.metadata).toEqual({ team: 'qa' });
      expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
      const { output, errors } = accountFor(done, 20);
      expect(errors).toEqual([]);
      expect(output.every((l) => (l.response!.body as { object: string }).object === 'chat.completion')).toBe(true);
      const { results } = await retrieveBatchResults(provider, created.id, { ...env.options, endpoint: '/v1/chat/completions' });
      expect(results.every((r) => r.error === null && r.result?.object === 'chat.completion')).toBe(true);
      const sa = (await env.client.workflow.getHandle(created.id).describe()).searchAttributes as Record<string, unknown[]>;
      expect(sa.AnybatchProvider).toEqual([provider]);
    });

    test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
      const created = await createBatch(provider, input(2000), '/v1/chat/completions', opts());
      await eventually(async () => (await retrieveBatch(provider, created.id, env.options)).request_counts!.completed > 0, 30_000, 100);
      const cancelled = await cancelBatch(provider, created.id, { ...env.options, wait: true });
      expect(cancelled.status).toBe('cancelled');
      const { output, errors } = accountFor(cancelled, 2000);
      expect(output.length).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
      expect(cancelled.request_counts).toEqual({ total: 2000, completed: output.length, failed: errors.length });
    });

    test('an expired batch delivers partial results and batch_expired lines', async () => {
      env.sandbox.setFaults({ expireAfterSeconds: 2 });
      const done = await untilTerminal((await createBatch(provider, input(3000), '/v1/chat/completions', opts())).id);
      expect(done.status).toBe('expired');
      const { output, errors } = accountFor(done, 3000);
      expect(output.length).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
    });

    test("a batch the provider fails at validation ends failed with the provider's errors", async () => {
      env.sandbox.setFaults({ failValidation: true });
      const done = await untilTerminal((await createBatch(provider, input(10), '/v1/chat/completions', opts())).id);
      expect(done.status).toBe('failed');
      expect(done.errors?.data?.[0]?.code).toBeTruthy();
      const { errors } = accountFor(done, 10);
      expect(errors.every((l) => l.error?.code === 'batch_failed')).toBe(true);
    });

    test('transient faults (500s, 429s with retry-after) are retried to completion', async () => {
      env.sandbox.setFaults({ rate500: 0.2, rate429: 0.2, retryAfterSeconds: 1, seed: 11 });
      const done = await untilTerminal((await createBatch(provider, input(30), '/v1/chat/completions', opts())).id, 120_000);
      expect(done.status).toBe('completed');
      accountFor(done, 30);
      const faults = env.sandbox.stats().faults;
      expect(faults.rate500 + faults.rate429).toBeGreaterThan(0);
    });

    test('an input past maxRequestsPerPart becomes several provider batches merged into one result', async () => {
      const before = suite.created();
      const created = await createBatch(provider, input(130), '/v1/chat/completions', opts({ maxRequestsPerPart: 40 }));
      expect(created.anybatch.provider_batches).toHaveLength(4);
      expect(suite.created()).toBe(before + 4);
      const done = await untilTerminal(created.id);
      expect(done.status).toBe('completed');
      expect(done.request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
      expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(4);
      accountFor(done, 130);
    });
  });

  describe(`${provider} through the CLI`, () => {
    const cli = (args: string[]) => runCli(env, args);
    const create = (file: string, ...more: string[]) =>
      cli(['create', file, '--provider', provider, '--endpoint', '/v1/chat/completions', '--api-base', baseUrl(), '--api-key', 'k', '--poll-interval', '200ms', ...more]);

    test('create --wait --json splits by --max-requests-per-part and completes with every custom_id once; get and list show it', async () => {
      const run = await create(input(12, 'cli'), '--max-requests-per-part', '5', '--wait', '--json');
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(0);
      const batch = JSON.parse(run.stdout) as AnybatchBatch;
      expect(batch.status).toBe('completed');
      expect(batch.anybatch.provider).toBe(provider);
      expect(batch.anybatch.provider_batches).toHaveLength(3);
      accountFor(batch, 12, 'cli');
      const got = await cli(['get', batch.id]);
      expect(got.code).toBe(0);
      expect(got.stdout).toContain('12 total, 12 completed, 0 failed');
      const listed = await cli(['list', '--provider', provider, '--limit', '100', '--json']);
      expect(JSON.parse(listed.stdout).map((b: AnybatchBatch) => b.id)).toContain(batch.id);
    });

    test('cancel --wait ends a running batch with partial results', async () => {
      const started = await create(input(2000, 'cc'), '--json');
      expect(started.code).toBe(0);
      const { id } = JSON.parse(started.stdout) as AnybatchBatch;
      await eventually(async () => (await retrieveBatch(provider, id, env.options)).request_counts!.completed > 0, 30_000, 100);
      const run = await cli(['cancel', id, '--wait', '--json']);
      expect(run.code).toBe(0);
      const batch = JSON.parse(run.stdout) as AnybatchBatch;
      expect(batch.status).toBe('cancelled');
      const { errors } = accountFor(batch, 2000, 'cc');
      expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    });

    test('a file the provider cannot take is refused before anything starts, exit 2', async () => {
      const before = suite.created();
      const run = await create(input(3, 'bad'), '--completion-window', '30d');
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`completionWindow "30d" is not supported by ${provider}`);
      expect(suite.created()).toBe(before);
    });
  });

  return suite;
}
