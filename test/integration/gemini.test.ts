/**
 * Gemini end to end: the adapter (src/providers/gemini, through `@google/genai`) against the sandbox's Gemini module
 * at `/gemini`, through the public API and the CLI, on the run's Temporal server: happy path (inline), file mode
 * (resumable upload), cancel with partial results, expiry, validation failure at the provider, transient faults,
 * a split input, idempotent create, and what the CLI shows.
 */
import { cancelBatch, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch, CreateBatchOptions } from '../../src';
import { runCli } from '../support/cli';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { accountFor, untilTerminalBatch } from '../support/batches';

const MODEL = 'gemini-2.5-flash';
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());
afterEach(() => env.sandbox.setFaults({}));

const input = (n: number, prefix = 'req') => writeChatInput(env.home, n, { prefix, model: MODEL });
const opts = (extra: CreateBatchOptions<'gemini'> = {}): CreateBatchOptions<'gemini'> => ({
  ...env.options,
  apiBase: env.sandbox.baseUrls.gemini,
  apiKey: 'gemini-test-key',
  pollInterval: '200ms',
  ...extra,
});
const gemini = () => env.sandbox.stats().providers.gemini;
const untilTerminal = (id: string, timeoutMs?: number) => untilTerminalBatch('gemini', id, env.options, timeoutMs);


describe('gemini through the public API', () => {
  test('an inline batch completes and every custom_id has a chat.completion', async () => {
    const before = gemini();
    const created = await createBatch('gemini', input(20), '/v1/chat/completions', opts());
    expect(created.anybatch.provider).toBe('gemini');
    expect(created.anybatch.provider_batches).toHaveLength(1);
    expect(created.anybatch.provider_batches[0].id).toMatch(/^batches\/[a-z0-9]+$/);
    expect(gemini().batchesCreated).toBe(before.batchesCreated + 1);
    // Inline: nothing uploaded.
    expect(gemini().filesCreated).toBe(before.filesCreated);
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    const { output, errors } = accountFor(done, 20);
    expect(errors).toEqual([]);
    const body = output.find((l) => l.custom_id === 'req-3')!.response!.body as { object: string; model: string; choices: Array<{ message: { content: string }; finish_reason: string }> };
    expect(body).toMatchObject({ object: 'chat.completion', model: MODEL, choices: [{ message: { content: 'Sandbox reply to: Question number 3: what is 3 + 3?' }, finish_reason: 'stop' }] });
    const { results } = await retrieveBatchResults('gemini', created.id, { ...env.options, endpoint: '/v1/chat/completions' });
    expect(results.every((r) => r.error === null && r.result?.object === 'chat.completion')).toBe(true);
  });

  test('above the inline limit the requests are uploaded (resumable) and read back from the results file', async () => {
    const before = gemini();
    const created = await createBatch('gemini', input(30), '/v1/chat/completions', opts({ maxInlineBytes: 1000 }));
    expect(gemini().filesCreated).toBe(before.filesCreated + 1);
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.anybatch.provider_batches[0]).toBeTruthy();
    const { output } = accountFor(done, 30);
    expect(output).toHaveLength(30);
    // One upload, never repeated; the batch read the file and wrote a results file.
    expect(gemini().filesCreated).toBe(before.filesCreated + 1);
    const op = (await (await fetch(`${env.sandbox.baseUrls.gemini}/v1beta/${done.anybatch.provider_batches[0].id}`, { headers: { 'x-goog-api-key': 'k' } })).json()) as {
      metadata: { inputConfig?: { fileName?: string }; output?: { responsesFile?: string } };
    };
    expect(op.metadata.inputConfig?.fileName).toMatch(/^files\//);
    expect(op.metadata.output?.responsesFile).toMatch(/^files\//);
  });

  test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
    const created = await createBatch('gemini', input(2000), '/v1/chat/completions', opts());
    await eventually(async () => (await retrieveBatch('gemini', created.id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const cancelled = await cancelBatch('gemini', created.id, { ...env.options, wait: true });
    expect(cancelled.status).toBe('cancelled');
    const { output, errors } = accountFor(cancelled, 2000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test('an expired batch delivers partial results and batch_expired lines', async () => {
    env.sandbox.setFaults({ expireAfterSeconds: 2 });
    const done = await untilTerminal((await createBatch('gemini', input(3000), '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('expired');
    const { output, errors } = accountFor(done, 3000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
  });

  test("a batch the provider fails at validation ends failed with the provider's error", async () => {
    env.sandbox.setFaults({ failValidation: true });
    const done = await untilTerminal((await createBatch('gemini', input(10), '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('failed');
    expect(done.errors?.data?.[0]?.code).toBeTruthy();
    const { errors } = accountFor(done, 10);
    expect(errors.every((l) => l.error?.code === 'batch_failed')).toBe(true);
  });

  test('transient faults (500s, 429s with retry-after, dropped connections) are retried to completion without a second batch', async () => {
    const before = gemini().batchesCreated;
    env.sandbox.setFaults({ rate500: 0.15, rate429: 0.15, rateDrop: 0.05, retryAfterSeconds: 1, seed: 7 });
    const done = await untilTerminal((await createBatch('gemini', input(30), '/v1/chat/completions', opts())).id, 120_000);
    expect(done.status).toBe('completed');
    accountFor(done, 30);
    const faults = env.sandbox.stats().faults;
    expect(faults.rate500 + faults.rate429 + faults.drops).toBeGreaterThan(0);
    expect(gemini().batchesCreated).toBe(before + 1);
  });

  test('an input past maxRequestsPerPart becomes several provider batches merged into one result', async () => {
    const before = gemini().batchesCreated;
    const created = await createBatch('gemini', input(130), '/v1/chat/completions', opts({ maxRequestsPerPart: 40 }));
    expect(created.anybatch.provider_batches).toHaveLength(4);
    expect(gemini().batchesCreated).toBe(before + 4);
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
    accountFor(done, 130);
  });

  test('a model the provider does not have fails the create at once (not_found)', async () => {
    env.sandbox.setFaults({ models: ['gemini-2.5-pro'] });
    const err = await createBatch('gemini', input(3), '/v1/chat/completions', opts()).catch((e: unknown) => e);
    // not_found is permanent: no retries, the create fails with Gemini's message naming the URL.
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/models\/gemini-2\.5-flash is not found/);
    expect((err as Error).message).toContain('/gemini/v1beta/models/gemini-2.5-flash:batchGenerateContent');
  });

  test('a request that cannot be translated is refused on its line before anything starts', async () => {
    const file = input(2);
    const fs = await import('node:fs');
    fs.appendFileSync(file, JSON.stringify({ custom_id: 'bad', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true } }) + '\n');
    const before = gemini().batchesCreated;
    await expect(createBatch('gemini', file, '/v1/chat/completions', opts())).rejects.toMatchObject({ code: 'invalid_input' });
    expect(gemini().batchesCreated).toBe(before);
  });
});

describe('gemini through the CLI', () => {
  const cli = (args: string[]) => runCli(env, args);
  const create = (file: string, ...more: string[]) =>
    cli(['create', file, '--provider', 'gemini', '--endpoint', '/v1/chat/completions', '--api-base', env.sandbox.baseUrls.gemini, '--api-key', 'k', '--poll-interval', '200ms', ...more]);

  test('create --wait --json splits by --max-requests-per-part and completes with every custom_id once; get and list show it', async () => {
    const run = await create(input(12, 'cli'), '--max-requests-per-part', '5', '--wait', '--json');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('completed');
    expect(batch.anybatch.provider).toBe('gemini');
    expect(batch.anybatch.provider_batches).toHaveLength(3);
    accountFor(batch, 12, 'cli');
    const got = await cli(['get', batch.id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain('12 total, 12 completed, 0 failed');
    const listed = await cli(['list', '--provider', 'gemini', '--limit', '100', '--json']);
    expect(JSON.parse(listed.stdout).map((b: AnybatchBatch) => b.id)).toContain(batch.id);
  });

  test('cancel --wait ends a running batch with partial results', async () => {
    const started = await create(input(2000, 'cc'), '--json');
    expect(started.code).toBe(0);
    const { id } = JSON.parse(started.stdout) as AnybatchBatch;
    await eventually(async () => (await retrieveBatch('gemini', id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const run = await cli(['cancel', id, '--wait', '--json']);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('cancelled');
    const { errors } = accountFor(batch, 2000, 'cc');
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test('a completion window Gemini does not have is refused before anything starts, exit 2', async () => {
    const before = gemini().batchesCreated;
    const run = await create(input(3, 'bad'), '--completion-window', '48h');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('completionWindow "48h" is not supported by gemini');
    expect(gemini().batchesCreated).toBe(before);
  });
});
