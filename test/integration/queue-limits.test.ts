/**
 * Parts the provider refuses for reasons that are not their requests' go out again instead of failing, end to end
 * on the sandbox: over OpenAI's enqueued token limit (`token_limit_exceeded`) a part waits, visibly queued, and is
 * resubmitted with backoff until it fits; over the provider's real per-batch request limit (`too_many_tasks`) a
 * part is re-split below the limit the provider states. Every custom_id is in the results exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import { untilTerminalBatch } from '../support/batches';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { recordHistory } from '../support/histories';

let env: TestEnv;

// Ten requests of writeChatInput are about 90 prompt tokens as the sandbox counts them: the limit lets one part in.
const TOKEN_LIMIT = 150;
const SANDBOX_MAX_REQUESTS = 10;

beforeAll(async () => {
  env = await startTestEnv({ rate: 100, enqueuedTokenLimit: TOKEN_LIMIT, maxRequests: SANDBOX_MAX_REQUESTS });
});
afterAll(async () => env?.teardown());

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'k', pollInterval: '100ms', queueLimitRetry: { initialDelay: '200ms', maxDelay: '1s', giveUpAfter: '2m' }, ...extra };
}

function untilTerminal(id: string): Promise<AnybatchBatch> {
  return untilTerminalBatch('openai', id, env.options, 90_000);
}

function expectEachOnce(batch: AnybatchBatch, prefix: string, n: number): void {
  const files = batch.anybatch.results!;
  const ids = [...readJsonl<ResultLine>(files.output_path), ...readJsonl<ResultLine>(files.errors_path)].map((l) => l.custom_id).sort();
  expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort());
}

test('a job of several batches over a small enqueued token limit completes: refused parts wait and go again', async () => {
  const jobs = await Promise.all(
    ['a', 'b'].map((prefix) => createBatch('openai', writeChatInput(env.home, 20, { prefix }), '/v1/chat/completions', opts({ maxRequestsPerPart: 10 }))),
  );
  // While the limit holds parts back, the batch says so (and stays validating or in progress, not failed).
  const queued = await eventually(async () => {
    for (const job of jobs) {
      const b = await retrieveBatch('openai', job.id, env.options);
      if (b.anybatch.queued) return b;
    }
    return null;
  }, 30_000, 50);
  expect(['validating', 'in_progress']).toContain(queued.status);
  expect(queued.anybatch.queued!.reason).toMatch(/^token_limit_exceeded: Enqueued token limit reached for gpt-4o-mini/);
  expect(queued.anybatch.queued!.parts).toBeGreaterThanOrEqual(1);

  const done = await Promise.all(jobs.map((j) => untilTerminal(j.id)));
  done.forEach((batch, i) => {
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expect(batch.errors).toBeUndefined();
    expect(batch.anybatch.queued).toBeUndefined();
    expect(batch.anybatch.provider_batches.every((b) => b.status === 'completed')).toBe(true);
    expectEachOnce(batch, ['a', 'b'][i], 20);
  });
  // The sandbox did refuse batches for the limit: they were submitted again, not failed.
  expect(env.sandbox.stats().providers.openai.batchesByStatus.failed).toBeGreaterThan(0);
  await recordHistory(env.client, jobs[0].id, 'queue-limit-resubmitted');
});

test('a part over the provider\'s real request limit is re-split below the limit it states, and completes', async () => {
  // anybatch believes a part may hold 25 requests; the sandbox takes 10 (too_many_tasks, "the maximum of 10").
  const created = await createBatch('openai', writeChatInput(env.home, 25, { prefix: 's', model: 'gpt-4o' }), '/v1/chat/completions', opts({ maxRequestsPerPart: 25 }));
  expect(created.anybatch.provider_batches).toHaveLength(1);
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 25, completed: 25, failed: 0 });
  expect(done.errors).toBeUndefined();
  // The refused batch is replaced by three of at most 10 requests.
  expect(done.anybatch.provider_batches).toHaveLength(3);
  expect(done.anybatch.provider_batches.map((b) => b.id)).not.toContain(created.anybatch.provider_batches[0].id);
  expect(done.anybatch.provider_batches.every((b) => b.status === 'completed')).toBe(true);
  expectEachOnce(done, 's', 25);
  await recordHistory(env.client, created.id, 'resplit-too-large');
});

test('an Anthropic part refused at create for its size is re-split and completes', async () => {
  const created = await createBatch('anthropic', writeChatInput(env.home, 25, { prefix: 'm', model: 'claude-3-5-haiku-latest' }), '/v1/chat/completions', {
    ...opts({ maxRequestsPerPart: 25 }),
    apiBase: env.sandbox.baseUrls.anthropic,
  });
  const done = await untilTerminalBatch('anthropic', created.id, env.options, 60_000);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 25, completed: 25, failed: 0 });
  expect(done.anybatch.provider_batches).toHaveLength(3);
  expectEachOnce(done, 'm', 25);
});

test('a part whose submission stays rate limited (429) past its retries waits, and goes again once the provider takes it', async () => {
  env.sandbox.setFaults({ forceStatus: 429, retryAfterSeconds: 0 });
  try {
    const created = await createBatch('openai', writeChatInput(env.home, 5, { prefix: 'q', model: 'gpt-4o-mini-2' }), '/v1/chat/completions', opts({ retryTimeout: '1s' }));
    expect(created.anybatch.queued).toMatchObject({ parts: 1, reason: expect.stringMatching(/^provider_rate_limited: /) });
    expect(created.status).toBe('validating');
    env.sandbox.setFaults({});
    const done = await untilTerminal(created.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 5, completed: 5, failed: 0 });
    expectEachOnce(done, 'q', 5);
  } finally {
    env.sandbox.setFaults({});
  }
});

test('a part that never fits the queue limit fails after the bound, with the limit named', async () => {
  // Ten requests of about 50 tokens each: more than the whole limit, so the part is refused every time.
  const file = path.join(env.home, 'big.jsonl');
  const line = (i: number) => JSON.stringify({ custom_id: `g-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4.1', messages: [{ role: 'user', content: `${i} ${'x'.repeat(200)}` }] } });
  fs.writeFileSync(file, Array.from({ length: 10 }, (_, i) => line(i)).join('\n') + '\n');
  const created = await createBatch('openai', file, '/v1/chat/completions', opts({ queueLimitRetry: { initialDelay: '100ms', maxDelay: '200ms', giveUpAfter: '1500ms' } }));
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('failed');
  const message = done.errors!.data!.map((e) => `${e.code}: ${e.message}`).join('\n');
  expect(message).toMatch(/queue_limit: The provider refused part \d+ for its queue limit \d+ times over \d+ s \(the bound is 2 s\): token_limit_exceeded: Enqueued token limit reached for gpt-4.1/);
  expectEachOnce(done, 'g', 10);
  const errors = readJsonl<ResultLine>(done.anybatch.results!.errors_path);
  expect(errors.every((l) => l.error?.code === 'batch_failed' && l.error.message.includes('token_limit_exceeded'))).toBe(true);
});
