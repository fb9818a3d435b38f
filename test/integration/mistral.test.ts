/**
 * Mistral end to end: the public API and the CLI, against the run's Temporal server and the sandbox's mistral
 * module, through `@mistralai/mistralai`. OpenAI lines (translated) and Mistral's own `{custom_id, body}` lines,
 * happy path, cancel with partial results, expiry, validation failure at the provider, transient faults, a split
 * input, windows as `timeout_hours`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cancelBatch, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch, CreateBatchOptions } from '../../src';
import { runCli } from '../support/cli';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { accountFor, untilTerminalBatch } from '../support/batches';

let env: TestEnv;
const MODEL = 'mistral-small-latest';
const input = (n: number, prefix = 'req') => writeChatInput(env.home, n, { prefix, model: MODEL });
const baseUrl = () => env.sandbox.baseUrls.mistral;
const opts = (extra: CreateBatchOptions<'mistral'> = {}): CreateBatchOptions<'mistral'> => ({
  ...env.options,
  apiBase: baseUrl(),
  apiKey: 'mistral-test-key',
  pollInterval: '200ms',
  ...extra,
});
const created = () => env.sandbox.stats().providers.mistral?.batchesCreated ?? 0;

const untilTerminal = (id: string, timeoutMs?: number) => untilTerminalBatch('mistral', id, env.options, timeoutMs);

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());
afterEach(() => env.sandbox.setFaults({}));

describe('mistral through the public API', () => {
  test('OpenAI lines run to completion at the provider and every custom_id has a chat.completion', async () => {
    const before = created();
    const batch = await createBatch('mistral', input(20), '/v1/chat/completions', opts({ metadata: { team: 'qa' }, completionWindow: '48h' }));
    expect(batch.anybatch.provider).toBe('mistral');
    expect(batch.anybatch.provider_batches).toHaveLength(1);
    expect(created()).toBe(before + 1);
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('completed');
    expect(done.metadata).toEqual({ team: 'qa' });
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    const { output, errors } = accountFor(done, 20);
    expect(errors).toEqual([]);
    expect(output.every((l) => (l.response!.body as { object: string; model: string }).model === MODEL)).toBe(true);
    const { results } = await retrieveBatchResults('mistral', batch.id, { ...env.options, endpoint: '/v1/chat/completions' });
    expect(results.every((r) => r.error === null && r.result?.object === 'chat.completion')).toBe(true);
  });

  test("Mistral's own {custom_id, body} lines are accepted, and per-request errors land in the error file", async () => {
    const file = path.join(env.home, 'native.jsonl');
    const lines = Array.from({ length: 6 }, (_, i) => ({
      custom_id: `req-${i}`,
      body: { model: MODEL, messages: [{ role: 'user', content: `native ${i}` }], ...(i === 5 ? { sandbox_error: 422 } : {}) },
    }));
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const done = await untilTerminal((await createBatch('mistral', file, '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('completed');
    const { output, errors } = accountFor(done, 6);
    expect(output).toHaveLength(5);
    expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([['req-5', 422]]);
  });

  test('embeddings: native lines give embedding lists', async () => {
    const file = path.join(env.home, 'embed.jsonl');
    fs.writeFileSync(file, Array.from({ length: 4 }, (_, i) => JSON.stringify({ custom_id: `req-${i}`, body: { model: 'mistral-embed', input: [`text ${i}`] } })).join('\n') + '\n');
    const done = await untilTerminal((await createBatch('mistral', file, '/v1/embeddings', opts())).id);
    expect(done.status).toBe('completed');
    accountFor(done, 4);
    const { results } = await retrieveBatchResults('mistral', done.id, { ...env.options, endpoint: '/v1/embeddings' });
    expect(results.every((r) => r.result?.object === 'list' && r.result.data[0].embedding.length > 0)).toBe(true);
  });

  test('an OpenAI line whose url is not the batch endpoint fails the batch before anything is created', async () => {
    const file = path.join(env.home, 'wrong-url.jsonl');
    fs.writeFileSync(file, JSON.stringify({ custom_id: 'req-0', method: 'POST', url: '/v1/embeddings', body: { model: MODEL, messages: [] } }) + '\n');
    const before = created();
    const batch = await createBatch('mistral', file, '/v1/chat/completions', opts({ noWait: true }));
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('failed');
    expect(JSON.stringify(done.errors)).toContain('url must be the batch endpoint');
    expect(created()).toBe(before);
  });

  test('lines naming two models are refused before anything starts', async () => {
    const file = path.join(env.home, 'two-models.jsonl');
    fs.writeFileSync(file, [JSON.stringify({ custom_id: 'a', body: { model: 'm1', messages: [] } }), JSON.stringify({ custom_id: 'b', body: { model: 'm2', messages: [] } })].join('\n') + '\n');
    const before = created();
    await expect(createBatch('mistral', file, '/v1/chat/completions', opts())).rejects.toMatchObject({ code: 'invalid_input' });
    expect(created()).toBe(before);
  });

  test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
    const batch = await createBatch('mistral', input(2000), '/v1/chat/completions', opts());
    await eventually(async () => (await retrieveBatch('mistral', batch.id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const cancelled = await cancelBatch('mistral', batch.id, { ...env.options, wait: true });
    expect(cancelled.status).toBe('cancelled');
    const { output, errors } = accountFor(cancelled, 2000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test('an expired job (TIMEOUT_EXCEEDED) delivers partial results and batch_expired lines', async () => {
    env.sandbox.setFaults({ expireAfterSeconds: 2 });
    const done = await untilTerminal((await createBatch('mistral', input(3000), '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('expired');
    const { output, errors } = accountFor(done, 3000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
  });

  test("a job the provider fails (FAILED) ends failed with the provider's errors", async () => {
    env.sandbox.setFaults({ failValidation: true });
    const done = await untilTerminal((await createBatch('mistral', input(10), '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('failed');
    expect(done.errors?.data?.[0]?.message).toBeTruthy();
    const { errors } = accountFor(done, 10);
    expect(errors.every((l) => l.error?.code === 'batch_failed')).toBe(true);
  });

  test('transient faults (500s, 429s with retry-after, dropped connections) are retried to completion', async () => {
    env.sandbox.setFaults({ rate500: 0.2, rate429: 0.2, rateDrop: 0.1, retryAfterSeconds: 1, seed: 11 });
    const done = await untilTerminal((await createBatch('mistral', input(30), '/v1/chat/completions', opts())).id, 120_000);
    expect(done.status).toBe('completed');
    accountFor(done, 30);
    const faults = env.sandbox.stats().faults;
    expect(faults.rate500 + faults.rate429 + faults.drops).toBeGreaterThan(0);
  });

  test('an input past maxRequestsPerPart becomes several jobs merged into one result', async () => {
    const before = created();
    const batch = await createBatch('mistral', input(130), '/v1/chat/completions', opts({ maxRequestsPerPart: 40 }));
    expect(batch.anybatch.provider_batches).toHaveLength(4);
    expect(created()).toBe(before + 4);
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
    accountFor(done, 130);
  });
});

describe('mistral through the CLI', () => {
  const cli = (args: string[]) => runCli(env, args);
  const create = (file: string, ...more: string[]) =>
    cli(['create', file, '--provider', 'mistral', '--endpoint', '/v1/chat/completions', '--api-base', baseUrl(), '--api-key', 'k', '--poll-interval', '200ms', ...more]);

  test('create --wait --json splits by --max-requests-per-part and completes with every custom_id once', async () => {
    const run = await create(input(12, 'cli'), '--max-requests-per-part', '5', '--wait', '--json');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('completed');
    expect(batch.anybatch.provider_batches).toHaveLength(3);
    accountFor(batch, 12, 'cli');
    const got = await cli(['get', batch.id]);
    expect(got.stdout).toContain('12 total, 12 completed, 0 failed');
  });

  test('cancel --wait ends a running batch with partial results', async () => {
    const started = await create(input(2000, 'cc'), '--json');
    expect(started.code).toBe(0);
    const { id } = JSON.parse(started.stdout) as AnybatchBatch;
    await eventually(async () => (await retrieveBatch('mistral', id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const run = await cli(['cancel', id, '--wait', '--json']);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('cancelled');
    const { errors } = accountFor(batch, 2000, 'cc');
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test('a window Mistral does not take is refused before anything starts, exit 2', async () => {
    const before = created();
    const run = await create(input(3, 'bad'), '--completion-window', '30d');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('completionWindow "30d" is not supported by mistral');
    expect(created()).toBe(before);
  });
});
