/**
 * Admission control end to end (issue 10, part 1): a job of several batches whose prompt tokens sum to more than the
 * sandbox's enqueued token limit. With an `admission` budget below the limit, later parts wait, visibly queued,
 * and go out as earlier provider batches end: every batch completes, the sandbox refuses none, and the tokens it
 * holds enqueued never exceed its limit. The same job with no budget does hit `token_limit_exceeded` (and the
 * queue-limit resubmission recovers): so it is admission that avoided the refusals. A cancel withdraws waiting
 * parts, and every share goes back (the admission workflow holds nothing after); the CLI's budget flags reach it.
 */
import { cancelBatch, createBatch, retrieveBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import { admissionWorkflowId, connectionHash } from '../../src/admission/key';
import { admissionStateQuery } from '../../src/admission/messages';
import { untilTerminalBatch } from '../support/batches';
import { eventually, readJsonl, startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';
import { recordHistory } from '../support/histories';
import { runCli } from '../support/cli';

let env: TestEnv;

// Ten requests of writeChatInput hold about 90 prompt tokens as the sandbox counts them: the limit takes one part
// at a time. anybatch's estimate is not the sandbox's count, so the budget stays below the limit by a margin.
const TOKEN_LIMIT = 150;
const BUDGET = 120;
const ENQUEUED = ['validating', 'in_progress', 'finalizing'];

beforeAll(async () => {
  env = await startTestEnv({ rate: 400, validationMs: 100, finalizingMs: 50, enqueuedTokenLimit: TOKEN_LIMIT });
});
afterAll(async () => {
  // The budgets' admission workflows would idle on for minutes with no worker: end them.
  for (const model of ['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o4-mini']) await env?.client.workflow.getHandle(budgetId(model)).terminate().catch(() => undefined);
  await env?.teardown();
});

/** The admission workflow of the sandbox connection's budget for `model`. */
function budgetId(model: string): string {
  return admissionWorkflowId({ provider: 'openai', model }, connectionHash(env.apiBase, 'k'));
}

/** What the budget's admission workflow holds and queues once every share went back (eventually: releases are signals). */
async function expectNothingHeld(model: string, budget = BUDGET): Promise<void> {
  const view = await eventually(async () => {
    const v = await env.client.workflow.getHandle(budgetId(model)).query(admissionStateQuery);
    return v.holders.length === 0 && v.queue.length === 0 ? v : null;
  }, 5_000, 50);
  expect(view.usage).toEqual({ enqueuedTokens: 0, requests: 0, batches: 0 });
  expect(view.budget.enqueuedTokens).toBe(budget);
}

function opts(extra: Record<string, unknown> = {}) {
  return { ...env.options, apiBase: env.apiBase, apiKey: 'k', pollInterval: '100ms', maxRequestsPerPart: 10, queueLimitRetry: { initialDelay: '200ms', maxDelay: '1s', giveUpAfter: '2m' }, ...extra };
}

function untilTerminal(id: string): Promise<AnybatchBatch> {
  return untilTerminalBatch('openai', id, env.options, 30_000);
}

interface SandboxBatch {
  id: string;
  status: string;
  usage?: { input_tokens?: number } | null;
  errors?: { data: Array<{ code: string; message: string }> } | null;
}

async function sandboxBatches(): Promise<SandboxBatch[]> {
  const res = await fetch(`${env.apiBase}/batches?limit=100`, { headers: { authorization: 'Bearer k' } });
  return ((await res.json()) as { data: SandboxBatch[] }).data;
}

/**
 * Samples the sandbox's batches until `done` settles: the ids of the provider batches enqueued together at each
 * sample (validating, in progress or finalizing: when the sandbox counts their tokens).
 */
async function sampleEnqueued(done: Promise<unknown>): Promise<string[][]> {
  const samples: string[][] = [];
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => undefined);
  while (!settled) {
    const batches = await sandboxBatches();
    samples.push(batches.filter((b) => ENQUEUED.includes(b.status)).map((b) => b.id));
    await new Promise((r) => setTimeout(r, 20));
  }
  return samples;
}

function expectEachOnce(batch: AnybatchBatch, prefix: string, n: number): void {
  const files = batch.anybatch.results!;
  const ids = [...readJsonl<ResultLine>(files.output_path), ...readJsonl<ResultLine>(files.errors_path)].map((l) => l.custom_id).sort();
  expect(ids).toEqual(Array.from({ length: n }, (_, i) => `${prefix}-${i}`).sort());
}

/** Two batches of 20 requests, each split in two parts of about 90 tokens: 360 tokens for a limit of 150. */
async function job(model: string, extra: Record<string, unknown>): Promise<AnybatchBatch[]> {
  return Promise.all(['a', 'b'].map((prefix) => createBatch('openai', writeChatInput(env.home, 20, { prefix: `${model}-${prefix}`, model }), '/v1/chat/completions', opts(extra))));
}

test('with an admission budget, a job over the enqueued token limit completes with no batch refused', async () => {
  const failedBefore = env.sandbox.stats().providers.openai.batchesByStatus.failed ?? 0;
  const jobs = await job('gpt-4o-mini', { admission: { enqueuedTokens: BUDGET } });
  // createBatch returned with every part either at the provider or waiting for admission, and says which.
  const waiting = jobs.find((b) => b.anybatch.queued);
  expect(waiting).toBeDefined();
  expect(waiting!.status).toBe('validating');

  const done = Promise.all(jobs.map((j) => untilTerminal(j.id)));
  const queuedSeen = eventually(async () => {
    for (const j of jobs) {
      const b = await retrieveBatch('openai', j.id, env.options);
      if (b.anybatch.queued) return b;
    }
    return null;
  }, 10_000, 20);
  const [samples, finals, queued] = await Promise.all([sampleEnqueued(done), done, queuedSeen]);

  expect(queued.anybatch.queued).toMatchObject({ cause: 'admission', next_at: null, reason: expect.stringMatching(/enqueued tokens/) });
  expect(queued.anybatch.queued!.parts).toBeGreaterThanOrEqual(1);
  finals.forEach((batch, i) => {
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expect(batch.errors).toBeUndefined();
    expect(batch.anybatch.queued).toBeUndefined();
    expect(batch.anybatch.provider_batches).toHaveLength(2);
    expectEachOnce(batch, `gpt-4o-mini-${['a', 'b'][i]}`, 20);
  });
  // No provider batch was refused for the limit ...
  expect(env.sandbox.stats().providers.openai.batchesByStatus.failed ?? 0).toBe(failedBefore);
  // ... and at no time did the sandbox hold more enqueued tokens than its limit (each batch's tokens: its usage).
  const tokens = new Map((await sandboxBatches()).map((b) => [b.id, b.usage?.input_tokens ?? 0]));
  const ours = new Set(finals.flatMap((b) => b.anybatch.provider_batches.map((p) => p.id)));
  expect([...ours].every((id) => (tokens.get(id) ?? 0) > 0)).toBe(true);
  expect(samples.length).toBeGreaterThan(5);
  const held = samples.map((ids) => ids.filter((id) => ours.has(id)));
  expect(held.some((ids) => ids.length > 0)).toBe(true);
  const peak = Math.max(...held.map((ids) => ids.reduce((sum, id) => sum + tokens.get(id)!, 0)));
  expect(peak).toBeLessThanOrEqual(TOKEN_LIMIT);
  // Every part gave its share back: nothing leaks into the budget.
  await expectNothingHeld('gpt-4o-mini');

  await recordHistory(env.client, queued.id, 'admission-queued');
});

test('without an admission budget, the same job is refused for the limit (and the refused parts go again)', async () => {
  const failedBefore = env.sandbox.stats().providers.openai.batchesByStatus.failed ?? 0;
  const jobs = await job('gpt-4o', {});
  const finals = await Promise.all(jobs.map((j) => untilTerminal(j.id)));
  // The sandbox refused at least one part with OpenAI's token_limit_exceeded ...
  const refused = (await sandboxBatches()).filter((b) => b.status === 'failed' && b.errors?.data[0]?.code === 'token_limit_exceeded');
  expect(refused.every((b) => /^Enqueued token limit reached for gpt-4o in organization org-sandbox/.test(b.errors!.data[0].message))).toBe(true);
  expect(refused.length).toBeGreaterThan(0);
  expect(env.sandbox.stats().providers.openai.batchesByStatus.failed).toBeGreaterThan(failedBefore);
  // ... and the queue-limit resubmission still completed the job.
  finals.forEach((batch, i) => {
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expectEachOnce(batch, `gpt-4o-${['a', 'b'][i]}`, 20);
  });
});

test('a budget above the provider\'s real limit: refused parts give their share back, go again, are admitted again', async () => {
  const model = 'o4-mini';
  const failedBefore = env.sandbox.stats().providers.openai.batchesByStatus.failed ?? 0;
  const created = await createBatch('openai', writeChatInput(env.home, 30, { prefix: model, model }), '/v1/chat/completions', opts({ admission: { enqueuedTokens: 10_000 } }));
  const done = await untilTerminal(created.id);
  expect(done.status).toBe('completed');
  expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
  expectEachOnce(done, model, 30);
  // The sandbox refused parts the (too generous) budget let out together; their replacements went through admission.
  expect(env.sandbox.stats().providers.openai.batchesByStatus.failed).toBeGreaterThan(failedBefore);
  await expectNothingHeld(model, 10_000);
});

test('a bad admission option is refused before anything starts, naming the field', async () => {
  const file = writeChatInput(env.home, 2);
  await expect(createBatch('openai', file, '/v1/chat/completions', opts({ admission: { enqueuedTokens: 0 } }))).rejects.toThrow(
    /admission\.enqueuedTokens must be a positive integer or null \(no limit\), got 0/,
  );
  await expect(createBatch('openai', file, '/v1/chat/completions', opts({ admission: { tokens: 5 } }))).rejects.toThrow(/admission\.tokens/);
  await expect(createBatch('openai', file, '/v1/chat/completions', opts({ admission: 5 }))).rejects.toThrow(/admission must be an object/);
});

test('cancelling a batch whose parts wait for admission withdraws them: it ends cancelled and holds nothing', async () => {
  const model = 'gpt-4.1-mini';
  let created: AnybatchBatch[] = [];
  // A slow provider API: the first part out holds the budget for a while (its end is seen late); the other parts wait.
  env.sandbox.setFaults({ slowMs: 1_000 });
  try {
    const jobs = await job(model, { admission: { enqueuedTokens: BUDGET } });
    expect(jobs.filter((b) => b.anybatch.queued?.cause === 'admission').length).toBeGreaterThan(0);
    await Promise.all(jobs.map((j) => cancelBatch('openai', j.id, env.options)));
    created = jobs;
  } finally {
    env.sandbox.setFaults({});
  }
  const jobs = created;
  const finals = await Promise.all(jobs.map((j) => untilTerminal(j.id)));
  finals.forEach((batch, i) => {
    expect(batch.status).toBe('cancelled');
    expect(batch.anybatch.queued).toBeUndefined();
    expectEachOnce(batch, `${model}-${['a', 'b'][i]}`, 20);
  });
  // The parts that never went out are cancelled before submission, and their requests are in errors.jsonl as such.
  const never = finals.flatMap((b) => readJsonl<ResultLine>(b.anybatch.results!.errors_path)).filter((l) => l.error?.code === 'batch_cancelled');
  expect(never.length).toBeGreaterThanOrEqual(10);
  await expectNothingHeld(model);
});

test('the CLI sets the budget with --enqueued-token-budget and --batch-budget, and checks them', async () => {
  const input = writeChatInput(env.home, 3, { model: 'gpt-4.1-nano' });
  const create = (...more: string[]) =>
    runCli(env, ['create', input, '--provider', 'openai', '--endpoint', '/v1/chat/completions', '--api-base', env.apiBase, '--api-key', 'k', '--poll-interval', '100ms', ...more]);
  const run = await create('--enqueued-token-budget', '500', '--batch-budget', '1', '--wait', '--json');
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).status).toBe('completed');
  const view = await env.client.workflow.getHandle(budgetId('gpt-4.1-nano')).query(admissionStateQuery);
  expect(view.budget).toEqual({ enqueuedTokens: 500, requests: null, batches: 1 });
  const bad = await create('--batch-budget', '0');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--batch-budget must be a positive integer (got "0")');
});
