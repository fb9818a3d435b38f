/**
 * xAI end to end: the xAI adapter (src/providers/xai: the `openai` client's `files.create` and generic calls on
 * xAI's own batch endpoints) against the sandbox's xai module at `/xai/v1`, through the public API and the CLI,
 * on the run's Temporal server: happy path, cancel with partial results, expiry, validation failure at the
 * provider, transient faults, a split input, and what is xAI's own (the idempotency key in `name`, derived
 * statuses, paged results).
 */
import OpenAI from 'openai';
import { cancelBatch, createBatch, retrieveBatch, retrieveBatchResults } from '../../src';
import type { AnybatchBatch, CreateBatchOptions } from '../../src';
import { getAdapter } from '../../src/providers/registry';
import { runCli } from '../support/cli';
import { eventually, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { accountFor, untilTerminalBatch } from '../support/batches';

const MODEL = 'grok-4-fast';
let env: TestEnv;
const input = (n: number, prefix = 'req') => writeChatInput(env.home, n, { prefix, model: MODEL });
const baseUrl = () => env.sandbox.baseUrls.xai;
const opts = (extra: CreateBatchOptions<'xai'> = {}): CreateBatchOptions<'xai'> => ({ ...env.options, apiBase: baseUrl(), apiKey: 'xai-test-key', pollInterval: '200ms', ...extra });
const created = () => env.sandbox.stats().providers.xai?.batchesCreated ?? 0;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());
afterEach(() => env.sandbox.setFaults({}));

const untilTerminal = (id: string, timeoutMs?: number) => untilTerminalBatch('xai', id, env.options, timeoutMs);


describe('xai through the public API', () => {
  test('a batch runs to completion at xAI and every custom_id has a chat.completion; the key is the batch name', async () => {
    const before = created();
    const batch = await createBatch('xai', input(20), '/v1/chat/completions', opts({ metadata: { team: 'qa' } }));
    expect(batch.anybatch.provider).toBe('xai');
    expect(batch.anybatch.provider_batches).toHaveLength(1);
    expect(created()).toBe(before + 1);
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('completed');
    expect(done.metadata).toEqual({ team: 'qa' });
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    const { output, errors } = accountFor(done, 20);
    expect(errors).toEqual([]);
    expect(output.every((l) => l.response!.status_code === 200 && (l.response!.body as { object: string }).object === 'chat.completion')).toBe(true);
    const { results } = await retrieveBatchResults('xai', batch.id, { ...env.options, endpoint: '/v1/chat/completions' });
    expect(results.every((r) => r.error === null && r.result?.object === 'chat.completion')).toBe(true);

    // At xAI the batch is named by its idempotency key.
    const xai = new OpenAI({ baseURL: baseUrl(), apiKey: 'k' });
    const remote = await xai.get<{ name: string }>(`/batches/${done.anybatch.provider_batches[0].id}`);
    expect(remote.name).toBe(`anybatch:${batch.id}/0`);
    const sa = (await env.client.workflow.getHandle(batch.id).describe()).searchAttributes as Record<string, unknown[]>;
    expect(sa.AnybatchProvider).toEqual(['xai']);
  });

  test('per-request errors are error lines with their status, the rest succeed', async () => {
    const file = input(3, 'mix');
    const fs = await import('node:fs');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    lines[1].body.sandbox_error = 429;
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const done = await untilTerminal((await createBatch('xai', file, '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    const { errors } = accountFor(done, 3, 'mix');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: 'mix-1', response: { status_code: 429, body: { error: { code: '8', message: expect.stringContaining('sandbox_error=429') } } } });
  });

  test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
    const batch = await createBatch('xai', input(2000), '/v1/chat/completions', opts());
    await eventually(async () => (await retrieveBatch('xai', batch.id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const cancelled = await cancelBatch('xai', batch.id, { ...env.options, wait: true });
    expect(cancelled.status).toBe('cancelled');
    const { output, errors } = accountFor(cancelled, 2000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
    expect(cancelled.request_counts).toEqual({ total: 2000, completed: output.length, failed: errors.length });
  });

  test('a batch whose expire_time passes with requests pending ends expired, with partial results and batch_expired lines', async () => {
    env.sandbox.setFaults({ expireAfterSeconds: 2 });
    const done = await untilTerminal((await createBatch('xai', input(3000), '/v1/chat/completions', opts())).id);
    expect(done.status).toBe('expired');
    const { output, errors } = accountFor(done, 3000);
    expect(output.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
    expect(done.request_counts).toEqual({ total: 3000, completed: output.length, failed: errors.length });
  });

  test('a batch xAI fails at validation (every request errors) ends with every custom_id in errors.jsonl, with xAI’s message', async () => {
    env.sandbox.setFaults({ failValidation: true });
    const done = await untilTerminal((await createBatch('xai', input(10), '/v1/chat/completions', opts())).id);
    // xAI has no failed status: the batch is done, each request with its error.
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 10, completed: 0, failed: 10 });
    const { output, errors } = accountFor(done, 10);
    expect(output).toEqual([]);
    expect(errors.every((l) => l.response?.status_code === 400 && JSON.stringify(l.response.body).includes('failValidation'))).toBe(true);
  });

  test('transient faults (500s, 429s with retry-after, dropped connections) are retried to completion', async () => {
    env.sandbox.setFaults({ rate500: 0.2, rate429: 0.2, rateDrop: 0.05, retryAfterSeconds: 1, seed: 10 });
    const done = await untilTerminal((await createBatch('xai', input(30), '/v1/chat/completions', opts())).id, 120_000);
    expect(done.status).toBe('completed');
    accountFor(done, 30);
    const faults = env.sandbox.stats().faults;
    expect(faults.rate500 + faults.rate429 + faults.drops).toBeGreaterThan(2);
  });

  test('an input past maxRequestsPerPart becomes several xAI batches (created one per second) merged into one result', async () => {
    const before = created();
    const batch = await createBatch('xai', input(130), '/v1/chat/completions', opts({ maxRequestsPerPart: 40 }));
    expect(batch.anybatch.provider_batches).toHaveLength(4);
    expect(created()).toBe(before + 4);
    const done = await untilTerminal(batch.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 130, completed: 130, failed: 0 });
    expect(new Set(done.anybatch.provider_batches.map((b) => b.id)).size).toBe(4);
    accountFor(done, 130);
  });

  test('a retried create finds the batch an earlier attempt made, by its name, instead of making another', async () => {
    const adapter = getAdapter('xai');
    const conn = { apiKey: 'xai-test-key', apiBase: baseUrl() };
    const file = input(2, 'idem');
    const fs = await import('node:fs');
    const providerInput = {
      path: file,
      requestCount: 2,
      bytes: fs.statSync(file).size,
      idempotencyKey: 'ab_idem/0',
      notBefore: Math.floor(Date.now() / 1000) - 5,
      endpoint: '/v1/chat/completions',
      options: {},
      workDir: env.home,
    };
    const prepared = await adapter.prepareInput(conn, providerInput);
    const request = { input: providerInput, prepared, endpoint: '/v1/chat/completions', completionWindow: '24h', metadata: null };
    const before = created();
    const first = await adapter.createBatch(conn, request);
    const second = await adapter.createBatch(conn, request);
    expect(second.id).toBe(first.id);
    expect(created()).toBe(before + 1);
  });
});

describe('xai through the CLI', () => {
  const cli = (args: string[]) => runCli(env, args);
  const create = (file: string, ...more: string[]) =>
    cli(['create', file, '--provider', 'xai', '--endpoint', '/v1/chat/completions', '--api-base', baseUrl(), '--api-key', 'k', '--poll-interval', '200ms', ...more]);

  test('create --wait --json splits by --max-requests-per-part and completes with every custom_id once; get and list show it', async () => {
    const run = await create(input(12, 'cli'), '--max-requests-per-part', '5', '--wait', '--json');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('completed');
    expect(batch.anybatch.provider).toBe('xai');
    expect(batch.anybatch.provider_batches).toHaveLength(3);
    accountFor(batch, 12, 'cli');
    const got = await cli(['get', batch.id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain('12 total, 12 completed, 0 failed');
    const listed = await cli(['list', '--provider', 'xai', '--limit', '100', '--json']);
    expect(JSON.parse(listed.stdout).map((b: AnybatchBatch) => b.id)).toContain(batch.id);
  });

  test('cancel --wait ends a running batch with partial results', async () => {
    const started = await create(input(2000, 'cc'), '--json');
    expect(started.code).toBe(0);
    const { id } = JSON.parse(started.stdout) as AnybatchBatch;
    await eventually(async () => (await retrieveBatch('xai', id, env.options)).request_counts!.completed > 0, 30_000, 100);
    const run = await cli(['cancel', id, '--wait', '--json']);
    expect(run.code).toBe(0);
    const batch = JSON.parse(run.stdout) as AnybatchBatch;
    expect(batch.status).toBe('cancelled');
    const { errors } = accountFor(batch, 2000, 'cc');
    expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  });

  test('a completion window xAI does not take is refused before anything starts, exit 2', async () => {
    const before = created();
    const run = await create(input(3, 'bad'), '--completion-window', '48h');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('completionWindow "48h" is not supported by xai');
    expect(created()).toBe(before);
  });
});
