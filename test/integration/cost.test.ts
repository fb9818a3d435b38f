/**
 * Cost end to end on the sandbox: a finished batch (OpenAI, and Anthropic) carries its actual cost in
 * `batch.anybatch.cost`, computed from the usage in its output lines at the dataset's prices with the batch
 * discount, in the `AnybatchCostUsd` search attribute and in `anybatch get`; its plan carries token estimates.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { createBatch } from '../../src';
import type { AnybatchBatch, ResultLine } from '../../src';
import type { KnownCost } from '../../src/contract/cost';
import { accountFor, untilTerminalBatch } from '../support/batches';
import { runCli } from '../support/cli';
import { startTestEnv, writeChatInput } from '../support/env';
import type { TestEnv } from '../support/env';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => env?.teardown());

/** The dataset's standard price of a model (per million tokens), read directly, without anybatch's code. */
function standard(providerId: string, model: string): { input: number; output: number } {
  const prices = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { providerId })!.model_price;
  const base = (p: unknown) => (typeof p === 'number' ? p : (p as { base: number }).base);
  return { input: base(prices.input_mtok), output: base(prices.output_mtok) };
}

/** Input and output tokens summed over the output file's lines. */
function usageIn(output: ResultLine[]): { input: number; output: number } {
  return output.reduce(
    (sum, line) => {
      const u = (line.response!.body as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
      return { input: sum.input + u.prompt_tokens, output: sum.output + u.completion_tokens };
    },
    { input: 0, output: 0 },
  );
}

async function searchAttributes(id: string): Promise<Record<string, unknown[]>> {
  return (await env.client.workflow.getHandle(id).describe()).searchAttributes as Record<string, unknown[]>;
}

/** The plan the workflow recorded: the first activity result in its history (planParts). */
async function recordedPlan(id: string): Promise<Array<{ requestCount: number; estimatedTokens?: { input: number; maxOutput: number; withoutMaxOutput: number } }>> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  const done = history.events!.find((e) => e.activityTaskCompletedEventAttributes)!;
  return JSON.parse(Buffer.from(done.activityTaskCompletedEventAttributes!.result!.payloads![0].data!).toString('utf8'));
}

function expectCost(batch: AnybatchBatch, output: ResultLine[], providerId: string, model: string): KnownCost {
  const cost = batch.anybatch.cost as KnownCost;
  const used = usageIn(output);
  const price = standard(providerId, model);
  expect(used.input).toBeGreaterThan(0);
  expect(used.output).toBeGreaterThan(0);
  const input = (used.input * price.input * 0.5) / 1e6;
  const out = (used.output * price.output * 0.5) / 1e6;
  expect(cost.currency).toBe('USD');
  expect(cost.input).toBeCloseTo(input, 9);
  expect(cost.output).toBeCloseTo(out, 9);
  expect(cost.cached).toBe(0);
  expect(cost.total).toBeCloseTo(input + out, 9);
  expect(cost.prices).toEqual([
    expect.objectContaining({ model, input_per_mtok: price.input / 2, output_per_mtok: price.output / 2, batch_discount: 0.5, source: expect.stringContaining('@pydantic/genai-prices') }),
  ]);
  // Split batches and the merged results agree: the results carry the same cost.
  expect(batch.anybatch.results!.cost).toEqual(cost);
  return cost;
}

test('an OpenAI batch split in parts: its cost, search attribute, `anybatch get`, and the token estimates of its plan', async () => {
  const input = writeChatInput(env.home, 12);
  // A budget of enqueued tokens applies, so the plan counts each part's tokens (admission uses them).
  const created = await createBatch('openai', input, '/v1/chat/completions', {
    ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms', maxRequestsPerPart: 5, admission: { enqueuedTokens: 10_000_000 },
  });
  const done = await untilTerminalBatch('openai', created.id, env.options);
  expect(done.status).toBe('completed');
  const { output } = accountFor(done, 12);
  const cost = expectCost(done, output, 'openai', 'gpt-4o-mini');
  expect((await searchAttributes(done.id)).AnybatchCostUsd).toEqual([cost.total]);

  // The plan: three parts (5 + 5 + 2), each with its estimate: every request caps output at 50 tokens.
  const plan = await recordedPlan(done.id);
  expect(plan.map((p) => p.requestCount)).toEqual([5, 5, 2]);
  // Each request is one user message "Question number i: what is i + i?": 3 + "user" + its tokens + 3 (OpenAI's chat format).
  const expected = (from: number, n: number) =>
    Array.from({ length: n }, (_, k) => 3 + countTokens('user') + countTokens(`Question number ${from + k}: what is ${from + k} + ${from + k}?`) + 3).reduce((a, b) => a + b, 0);
  expect(plan.map((p) => p.estimatedTokens)).toEqual([
    { input: expected(0, 5), maxOutput: 250, withoutMaxOutput: 0 },
    { input: expected(5, 5), maxOutput: 250, withoutMaxOutput: 0 },
    { input: expected(10, 2), maxOutput: 100, withoutMaxOutput: 0 },
  ]);

  const get = await runCli(env, ['get', done.id]);
  expect(get.code).toBe(0);
  expect(get.stdout).toContain(`cost:   $${cost.total.toFixed(6)} (input $${cost.input.toFixed(6)}, cached $0.000000, output $${cost.output.toFixed(6)}) at batch prices of gpt-4o-mini`);
  const json = await runCli(env, ['get', done.id, '--json']);
  expect(JSON.parse(json.stdout).anybatch.cost).toEqual(cost);
});

test('an Anthropic batch: its cost at Claude batch prices', async () => {
  const input = writeChatInput(env.home, 4, { model: 'claude-sonnet-4-5' });
  const created = await createBatch('anthropic', input, '/v1/chat/completions', { ...env.options, apiBase: env.sandbox.url, apiKey: 'sk-ant-test', pollInterval: '200ms' });
  const done = await untilTerminalBatch('anthropic', created.id, env.options);
  expect(done.status).toBe('completed');
  const { output } = accountFor(done, 4);
  const cost = expectCost(done, output, 'anthropic', 'claude-sonnet-4-5');
  expect((await searchAttributes(done.id)).AnybatchCostUsd).toEqual([cost.total]);
  // No budget of enqueued tokens applies to Anthropic (its published limit counts requests): no tokens are counted.
  expect((await recordedPlan(done.id)).map((p) => p.estimatedTokens)).toEqual([undefined]);
});

test('a model with no known price: the cost says so, is never zero, and sets no search attribute', async () => {
  const input = writeChatInput(env.home, 3, { model: 'gpt-no-such-model' });
  const created = await createBatch('openai', input, '/v1/chat/completions', { ...env.options, apiBase: env.apiBase, apiKey: 'test-key', pollInterval: '200ms' });
  const done = await untilTerminalBatch('openai', created.id, env.options);
  expect(done.status).toBe('completed');
  expect(done.anybatch.cost).toEqual({ currency: 'USD', total: null, unknown_models: ['gpt-no-such-model'], reason: expect.stringContaining('no price for openai model "gpt-no-such-model"') });
  expect((await searchAttributes(done.id)).AnybatchCostUsd).toBeUndefined();
  const get = await runCli(env, ['get', done.id]);
  expect(get.stdout).toContain('cost:   unknown (no known price');
});
