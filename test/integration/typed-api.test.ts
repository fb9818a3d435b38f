/**
 * The strict, typed library API end to end (issue 7, section 3): option checks before anything starts,
 * `waitForBatch` (progress, timeout, abort, provider check), typed results with the endpoint check and the
 * narrowing helpers, cancel on a finished batch, and `BatchNotFoundError` for an unknown id everywhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  BatchNotFoundError,
  UsageError,
  WaitTimeoutError,
  batchResultLines,
  cancelBatch,
  createBatch,
  isResultOf,
  iterateBatchResults,
  listBatches,
  loadBatch,
  resultAs,
  retrieveBatch,
  retrieveBatchResults,
  waitForBatch,
} from '../../src';
import type { AnybatchBatch, CreateBatchOptions } from '../../src';
import { startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;
/** One finished chat batch of 5 requests, shared by the read-only tests. */
let finished: AnybatchBatch;

beforeAll(async () => {
  env = await startTestEnv();
  const created = await createBatch('openai', writeChatInput(env.home, 5), '/v1/chat/completions', openai());
  finished = await waitForBatch('openai', created.id, { ...env.options, interval: 100, timeout: 60_000 });
});
afterAll(async () => {
  await env?.teardown();
});

function openai(extra: CreateBatchOptions<'openai'> = {}): CreateBatchOptions<'openai'> {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms', ...extra };
}

function anthropic(extra: CreateBatchOptions<'anthropic'> = {}): CreateBatchOptions<'anthropic'> {
  return { ...env.options, apiBase: env.sandbox.url, apiKey: 'sk-ant-test', pollInterval: '200ms', ...extra };
}

async function countWorkflows(): Promise<number> {
  let n = 0;
  for await (const w of env.client.workflow.list({ query: `TaskQueue = '${env.taskQueue}'` })) if (w) n += 1;
  return n;
}

function writeLines(name: string, lines: unknown[]): string {
  const file = path.join(env.home, name);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('options are checked before anything starts', () => {
  test.each([
    [{ pollIntervall: '1s' }, 'Unknown option "pollIntervall" for createBatch (openai); did you mean "pollInterval"?'],
    [{ metdata: { a: 'b' } }, 'Unknown option "metdata" for createBatch (openai); did you mean "metadata"?'],
    [{ defaultMaxTokens: 10 }, 'Unknown option "defaultMaxTokens" for createBatch (openai); it is an option of anthropic'],
    [{ metadata: { n: 1 } }, 'metadata.n must be a string (got 1).'],
    [{ apiKey: 123 }, 'apiKey must be a non-empty string (got 123).'],
  ])('createBatch(openai, %j) is a UsageError and starts nothing', async (bad, message) => {
    const before = await countWorkflows();
    const files = env.sandbox.stats().filesCreated;
    const err = await createBatch('openai', writeChatInput(env.home, 2), '/v1/chat/completions', { ...openai(), ...(bad as object) }).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(message);
    expect(await countWorkflows()).toBe(before);
    expect(env.sandbox.stats().filesCreated).toBe(files);
  });

  test('Anthropic option values are checked', async () => {
    const file = writeChatInput(env.home, 1, { model: 'claude-sonnet-4-5' });
    for (const [bad, message] of [
      [{ responseFormat: 'json' }, 'responseFormat must be "native" or "reject" (got "json").'],
      [{ defaultMaxTokens: -5 }, 'defaultMaxTokens must be a positive integer (got -5).'],
      [{ rawResults: 'yes' }, 'rawResults must be true or false (got "yes").'],
    ] as const) {
      await expect(createBatch('anthropic', file, '/v1/chat/completions', { ...anthropic(), ...(bad as object) })).rejects.toThrow(new UsageError(message));
    }
  });
});

describe('waitForBatch', () => {
  test('reports progress on every change and resolves with the terminal batch', async () => {
    const created = await createBatch('openai', writeChatInput(env.home, 400), '/v1/chat/completions', openai());
    const seen: AnybatchBatch[] = [];
    const done = await waitForBatch('openai', created.id, { ...env.options, interval: '50ms', onProgress: (b) => seen.push(b) });
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 400, completed: 400, failed: 0 });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[seen.length - 1]).toEqual(done);
    // Each call is a change: no two consecutive reports have the same status, counts and retrying.
    const keys = seen.map((b) => JSON.stringify([b.status, b.request_counts, b.anybatch.retrying ?? null]));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
  });

  test('a finished batch resolves at once, with one progress report', async () => {
    const seen: string[] = [];
    const done = await waitForBatch(null, finished.id, { ...env.options, onProgress: (b) => seen.push(b.status) });
    expect(done.id).toBe(finished.id);
    expect(seen).toEqual(['completed']);
  });

  test('rejects with WaitTimeoutError after timeout, and with the signal reason on abort; the batch goes on', async () => {
    const created = await createBatch('openai', writeChatInput(env.home, 3000), '/v1/chat/completions', openai());
    const started = Date.now();
    const timedOut = await waitForBatch('openai', created.id, { ...env.options, interval: 100, timeout: '400ms' }).catch((e) => e);
    expect(timedOut).toBeInstanceOf(WaitTimeoutError);
    expect((timedOut as WaitTimeoutError).batchId).toBe(created.id);
    expect((timedOut as WaitTimeoutError).batch.status).not.toBe('completed');
    expect(Date.now() - started).toBeLessThan(5_000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = await waitForBatch('openai', created.id, { ...env.options, interval: 100, signal: controller.signal }).catch((e) => e);
    expect((aborted as Error).name).toBe('AbortError');

    const reason = new Error('shutting down');
    const mine = new AbortController();
    setTimeout(() => mine.abort(reason), 100);
    await expect(waitForBatch('openai', created.id, { ...env.options, signal: mine.signal })).rejects.toBe(reason);
    await expect(waitForBatch('openai', created.id, { ...env.options, signal: AbortSignal.abort() })).rejects.toHaveProperty('name', 'AbortError');

    expect((await retrieveBatch('openai', created.id, env.options)).status).not.toBe('cancelled');
    await cancelBatch('openai', created.id, { ...env.options, wait: true });
  });

  test("checks the provider, like retrieveBatch", async () => {
    await expect(waitForBatch('anthropic', finished.id, env.options)).rejects.toThrow(new BatchNotFoundError(finished.id, 'anthropic'));
  });
});

describe('typed results', () => {
  test('{ endpoint } types the items and is checked against the batch', async () => {
    const { results } = await retrieveBatchResults('openai', finished.id, { ...env.options, endpoint: '/v1/chat/completions' });
    expect(results).toHaveLength(5);
    for (const item of results) {
      expect(item.result?.object).toBe('chat.completion');
      expect(item.result?.choices[0].message.content).toMatch(/^Sandbox reply/);
    }
    const wrong = await retrieveBatchResults('openai', finished.id, { ...env.options, endpoint: '/v1/embeddings' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(UsageError);
    expect((wrong as Error).message).toBe(`Batch ${finished.id} has endpoint /v1/chat/completions, not /v1/embeddings: read its results with { endpoint: '/v1/chat/completions' }.`);

    const streamed: string[] = [];
    for await (const item of iterateBatchResults(null, finished.id, { ...env.options, endpoint: '/v1/chat/completions' })) streamed.push(item.result!.id);
    expect(streamed).toHaveLength(5);
    const iterator = iterateBatchResults(null, finished.id, { ...env.options, endpoint: '/v1/responses' });
    await expect(iterator.next()).rejects.toBeInstanceOf(UsageError);
  });

  test('resultAs / isResultOf narrow a result by its shape', async () => {
    const { results } = await retrieveBatchResults(null, finished.id, env.options);
    const item = results[0];
    expect(resultAs(item, '/v1/chat/completions')?.object).toBe('chat.completion');
    expect(resultAs(item, '/v1/embeddings')).toBeNull();
    expect(resultAs(item, '/v1/messages')).toBeNull();
    expect(isResultOf(item, '/v1/chat/completions') && item.result.choices.length).toBe(1);
  });

  test('an embeddings batch reads as CreateEmbeddingResponse', async () => {
    const file = writeLines('embed.jsonl', [0, 1, 2].map((i) => ({ custom_id: `e-${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: `text ${i}` } })));
    const created = await createBatch('openai', file, '/v1/embeddings', openai());
    await waitForBatch('openai', created.id, { ...env.options, interval: 100 });
    const { results } = await retrieveBatchResults('openai', created.id, { ...env.options, endpoint: '/v1/embeddings' });
    expect(results.map((r) => r.result?.data[0].embedding.length)).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(results.every((r) => resultAs(r, '/v1/embeddings') !== null && resultAs(r, '/v1/chat/completions') === null)).toBe(true);
  });

  test('Anthropic: chat.completions by default; rawResults holds Messages, read as /v1/messages', async () => {
    const lines = [0, 1].map((i) => ({ custom_id: `a-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: `Hi ${i}` }] } }));
    const translated = await createBatch('anthropic', writeLines('anth-chat.jsonl', lines), '/v1/chat/completions', anthropic());
    const raw = await createBatch('anthropic', writeLines('anth-raw.jsonl', lines), '/v1/chat/completions', anthropic({ rawResults: true }));
    await waitForBatch('anthropic', translated.id, { ...env.options, interval: 100 });
    await waitForBatch('anthropic', raw.id, { ...env.options, interval: 100 });

    const chat = await retrieveBatchResults('anthropic', translated.id, { ...env.options, endpoint: '/v1/chat/completions' });
    expect(chat.results.map((r) => r.result?.object)).toEqual(['chat.completion', 'chat.completion']);
    await expect(retrieveBatchResults('anthropic', translated.id, { ...env.options, endpoint: '/v1/messages' })).rejects.toThrow(/holds chat.completions/);

    const messages = await retrieveBatchResults('anthropic', raw.id, { ...env.options, endpoint: '/v1/messages' });
    expect(messages.results.map((r) => r.result?.type)).toEqual(['message', 'message']);
    expect(messages.results.every((r) => resultAs(r, '/v1/messages')?.role === 'assistant')).toBe(true);
    const asChat = await retrieveBatchResults('anthropic', raw.id, { ...env.options, endpoint: '/v1/chat/completions' }).catch((e) => e);
    expect(asChat).toBeInstanceOf(UsageError);
    expect((asChat as Error).message).toContain("created with rawResults: true): read its results with { endpoint: '/v1/messages' }");
  });
});

test('cancelBatch on a finished batch returns it unchanged', async () => {
  const before = await retrieveBatch('openai', finished.id, env.options);
  const after = await cancelBatch('openai', finished.id, env.options);
  expect(after).toEqual(before);
  expect(await cancelBatch(null, finished.id, { ...env.options, wait: true })).toEqual(before);
  expect(await retrieveBatch('openai', finished.id, env.options)).toEqual(before);
});

describe('an unknown batch id is BatchNotFoundError everywhere', () => {
  const missing = 'ab_does_not_exist_0000';
  const drain = async (it: AsyncIterable<unknown>) => {
    for await (const _ of it) break;
  };
  test.each([
    ['loadBatch', () => loadBatch(missing, env.options)],
    ['retrieveBatch', () => retrieveBatch('openai', missing, env.options)],
    ['cancelBatch(provider)', () => cancelBatch('openai', missing, env.options)],
    ['cancelBatch(null, wait)', () => cancelBatch(null, missing, { ...env.options, wait: true })],
    ['retrieveBatchResults', () => retrieveBatchResults('openai', missing, env.options)],
    ['retrieveBatchResults({ endpoint })', () => retrieveBatchResults(null, missing, { ...env.options, endpoint: '/v1/chat/completions' })],
    ['iterateBatchResults', () => drain(iterateBatchResults(null, missing, env.options))],
    ['batchResultLines', () => drain(batchResultLines('openai', missing, env.options))],
    ['listBatches({ after })', () => listBatches('openai', { ...env.options, after: missing })],
    ['listBatches(null, { after })', () => listBatches(null, { ...env.options, after: missing })],
    ['waitForBatch', () => waitForBatch('openai', missing, env.options)],
    ['waitForBatch(null)', () => waitForBatch(null, missing, env.options)],
  ])('%s', async (_name, call) => {
    const err = await (call() as Promise<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchNotFoundError);
    expect((err as BatchNotFoundError).batchId).toBe(missing);
    expect((err as Error).message).toMatch(new RegExp(`^No batch ${missing}`));
  });
});
