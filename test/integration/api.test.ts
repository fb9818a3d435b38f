/** The public API end to end: a real Temporal dev server, the sandbox provider and an in-process worker. */
import fs from 'node:fs';
import path from 'node:path';
import {
  BatchFailedError,
  BatchNotCompleteError,
  InputValidationError,
  cancelBatch,
  createBatch,
  listBatches,
  retrieveBatch,
  retrieveBatchResults,
} from '../../src';
import type { AnybatchBatch } from '../../src';
import type { ResultLine } from '../../src/providers/types';
import { startSandbox } from '../../src/sandbox';
import { recordHistory } from '../support/histories';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});
afterEach(() => env.sandbox.setFaults({}));

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms', ...extra };
}

async function untilTerminal(id: string, timeoutMs = 90_000): Promise<AnybatchBatch> {
  return eventually(async () => {
    const b = await retrieveBatch('openai', id, env.options);
    return ['completed', 'failed', 'expired', 'cancelled'].includes(b.status) ? b : null;
  }, timeoutMs);
}

async function countWorkflows(): Promise<number> {
  let n = 0;
  for await (const w of env.client.workflow.list({ query: `TaskQueue = '${env.taskQueue}'` })) if (w) n += 1;
  return n;
}

function accountFor(batch: AnybatchBatch, n: number, prefix = 'req'): { output: ResultLine[]; errors: ResultLine[] } {
  const files = batch.anybatch.results!;
  const output = readJsonl<ResultLine>(files.output_path);
  const errors = readJsonl<ResultLine>(files.errors_path);
  const ids = [...output, ...errors].map((l) => l.custom_id).sort();
  const expected = Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort();
  expect(ids).toEqual(expected);
  expect(files.output_count).toBe(output.length);
  expect(files.errors_count).toBe(errors.length);
  return { output, errors };
}

test('a batch runs to completion and every request has a chat.completion result', async () => {
  const input = writeChatInput(env.home, 30);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts({ metadata: { team: 'qa' } }));
  expect(created.id).toMatch(/^ab_/);
  expect(created.anybatch.provider_batches).toHaveLength(1);
  expect(created.anybatch.provider_batches[0].id).toMatch(/^batch_/);
  expect(created.metadata).toEqual({ team: 'qa' });

  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
  expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
  const { output, errors } = accountFor(done, 30);
  expect(errors).toHaveLength(0);
  expect((output[0].response!.body as { object: string }).object).toBe('chat.completion');

  await recordHistory(env.client, created.id, 'completed');
  const results = await retrieveBatchResults('openai', created.id, env.options);
  expect(results.results).toHaveLength(30);
  expect(results.results.every((r) => r.error === null && r.result !== null)).toBe(true);

  const description = await env.client.workflow.getHandle(created.id).describe();
  const sa = description.searchAttributes as Record<string, unknown[]>;
  expect(sa.AnybatchStatus).toEqual(['completed']);
  expect(sa.AnybatchProvider).toEqual(['openai']);
  expect(sa.AnybatchTotal).toEqual([30]);
  expect(sa.AnybatchCompleted).toEqual([30]);
  expect(sa.AnybatchProviderBatchIds).toEqual([created.anybatch.provider_batches[0].id]);
});

test('the staged input is a copy: the caller may delete the original right after createBatch', async () => {
  const input = writeChatInput(env.home, 5);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  fs.rmSync(input);
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  accountFor(done, 5);
});

test('invalid input is rejected with line numbers before any workflow or provider call', async () => {
  const file = path.join(env.home, 'bad.jsonl');
  fs.writeFileSync(file, ['{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}', 'not json', '{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{"model":"m"}}'].join('\n'));
  const before = env.sandbox.stats();
  const workflowsBefore = await countWorkflows();
  const inputs = path.join(env.home, 'inputs');
  const stagedFiles = () => (fs.existsSync(inputs) ? fs.readdirSync(inputs).sort() : []);
  const stagedBefore = stagedFiles();
  const err = await createBatch('openai', file, '/v1/chat/completions', opts()).catch((e) => e);
  expect(err).toBeInstanceOf(InputValidationError);
  expect((err as InputValidationError).issues.map((i) => i.line)).toEqual([2, 3, 3]);
  expect((err as InputValidationError).message).toContain('line 2');
  expect(env.sandbox.stats().filesCreated).toBe(before.filesCreated);
  expect(await countWorkflows()).toBe(workflowsBefore);
  // Nothing was staged: no input, no ids file, no temp file left behind.
  expect(stagedFiles()).toEqual(stagedBefore);
});

test('results are refused with BatchNotCompleteError until the batch is terminal', async () => {
  env.sandbox.setFaults({});
  const input = writeChatInput(env.home, 400);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts({ pollInterval: '5s' }));
  await expect(retrieveBatchResults('openai', created.id, env.options)).rejects.toBeInstanceOf(BatchNotCompleteError);
  await cancelBatch('openai', created.id, { ...env.options, wait: true });
});

test('cancelling mid-run delivers partial results and batch_cancelled lines for the rest', async () => {
  const input = writeChatInput(env.home, 2000);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  await eventually(async () => (await retrieveBatch('openai', created.id, env.options)).request_counts!.completed > 0, 30_000);
  const cancelled = await cancelBatch('openai', created.id, { ...env.options, wait: true });
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.cancelled_at).toBeDefined();
  const { output, errors } = accountFor(cancelled, 2000);
  expect(output.length).toBeGreaterThan(0);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((l) => l.error?.code === 'batch_cancelled')).toBe(true);
  expect(cancelled.request_counts).toEqual({ total: 2000, completed: output.length, failed: errors.length });
  await recordHistory(env.client, created.id, 'cancelled');
});

test('an expired batch delivers partial results and batch_expired lines', async () => {
  env.sandbox.setFaults({ expireAfterSeconds: 2 });
  const input = writeChatInput(env.home, 3000);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('expired');
  const { output, errors } = accountFor(done, 3000);
  expect(output.length).toBeGreaterThan(0);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.every((l) => l.error?.code === 'batch_expired')).toBe(true);
  await recordHistory(env.client, created.id, 'expired');
});

test("a batch the provider fails at validation ends failed with the provider's errors", async () => {
  env.sandbox.setFaults({ failValidation: true });
  const input = writeChatInput(env.home, 10);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('failed');
  expect(done.failed_at).toBeDefined();
  expect(done.errors?.data?.length).toBeGreaterThan(0);
  expect(done.errors!.data![0].code).toBeTruthy();
  const { errors } = accountFor(done, 10);
  expect(errors.every((l) => l.error?.code === 'batch_failed')).toBe(true);
  await recordHistory(env.client, created.id, 'failed-validation');
});

test('transient provider faults (429 with retry-after, 500, dropped connections) are retried to completion', async () => {
  env.sandbox.setFaults({ rate429: 0.15, retryAfterSeconds: 1, rate500: 0.15, rateDrop: 0.1, seed: 7 });
  const input = writeChatInput(env.home, 50);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  const done = await untilTerminal(created.id, 120_000);
  expect(done.status).toBe('completed');
  accountFor(done, 50);
  await recordHistory(env.client, created.id, 'transient-faults');
  const faults = env.sandbox.stats().faults;
  expect(faults.rate429 + faults.rate500 + faults.drops).toBeGreaterThan(0);
});

test('slow responses and result downloads cut off midway still give complete, uncorrupted results', async () => {
  // Every download is cut off until two were: the activity must detect it and retry, never write a short file.
  env.sandbox.setFaults({ slowMs: 30, truncateDownloads: 1 });
  const input = writeChatInput(env.home, 300);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  await eventually(() => env.sandbox.stats().faults.truncated >= 2, 60_000, 50);
  expect((await retrieveBatch('openai', created.id, env.options)).anybatch.results).toBeNull();
  env.sandbox.setFaults({ slowMs: 30 });
  const done = await untilTerminal(created.id, 120_000);
  expect(done.status).toBe('completed');
  const { output } = accountFor(done, 300);
  expect(output.every((l) => (l.response!.body as { object: string }).object === 'chat.completion')).toBe(true);
});

test('an authentication error fails the batch at once with a clear message that hides the key', async () => {
  const secret = 'sk-wrong-key-0123456789abcdef';
  const strict = await startSandbox({ apiKey: 'the-right-key' });
  try {
    const input = writeChatInput(env.home, 3);
    const started = Date.now();
    const err = await createBatch('openai', input, '/v1/chat/completions', opts({ apiKey: secret, apiBase: `${strict.url}/v1` })).catch((e) => e);
    expect(err).toBeInstanceOf(BatchFailedError);
    expect((err as Error).message).toMatch(/401/);
    expect((err as Error).message).not.toContain(secret);
    expect(Date.now() - started).toBeLessThan(15_000); // not retried
    expect(strict.stats().batchesCreated).toBe(0);
  } finally {
    await strict.close();
  }
});

test('the API key given to createBatch never appears in history, memo or search attributes', async () => {
  const secret = 'sk-very-secret-key-abcdef0123456789';
  const input = writeChatInput(env.home, 3);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts({ apiKey: secret }));
  await untilTerminal(created.id);
  const handle = env.client.workflow.getHandle(created.id);
  const history = JSON.stringify(await handle.fetchHistory());
  expect(history).not.toContain(secret);
  expect(history).not.toContain(Buffer.from(secret).toString('base64'));
  const description = await handle.describe();
  expect(JSON.stringify(description.memo)).not.toContain(secret);
  expect(JSON.stringify(description.searchAttributes)).not.toContain(secret);
});

test('listBatches pages newest first with after and limit', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const input = writeChatInput(env.home, 2);
    ids.push((await createBatch('openai', input, '/v1/chat/completions', opts())).id);
    await new Promise((r) => setTimeout(r, 1100)); // distinct creation seconds
  }
  const newest = [...ids].reverse();
  const listed = await eventually(async () => {
    const page = await listBatches('openai', { ...env.options, limit: 2 });
    return page.length === 2 && page[0].id === newest[0] ? page : null;
  }, 20_000);
  expect(listed.map((b) => b.id)).toEqual(newest.slice(0, 2));
  const next = await listBatches('openai', { ...env.options, limit: 2, after: listed[1].id });
  expect(next.map((b) => b.id)).toEqual(newest.slice(2, 4));
});

test('retrieveBatch answers for a finished batch while no worker runs', async () => {
  const input = writeChatInput(env.home, 4);
  const created = await createBatch('openai', input, '/v1/chat/completions', opts());
  await untilTerminal(created.id);
  await env.stopWorker();
  try {
    const batch = await retrieveBatch('openai', created.id, env.options);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 4, completed: 4, failed: 0 });
  } finally {
    await env.startWorker();
  }
});
