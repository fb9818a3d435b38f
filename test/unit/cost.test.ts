/** Batch prices from the dataset with the providers' discounts, usage read from result bodies, and costs from them. */
import { BATCH_DISCOUNTS, UsageTally, batchPrice, costOfParts, costOfUsage, usageOfBody } from '../../src/cost';
import { costRange } from '../../src/cost';
import { calcPrice } from '@pydantic/genai-prices';

const usage = (input: number, cached: number, output: number, cacheWrite = 0) => ({ requests: 1, input, cached, cacheWrite, output, reasoning: 0 });

test('a known model: the dataset standard price halved by the batch discount, with its source', () => {
  const found = batchPrice('openai', 'gpt-4o-mini');
  expect(found.price).toMatchObject({ model: 'gpt-4o-mini', input_per_mtok: 0.075, output_per_mtok: 0.3, cached_per_mtok: 0.0375, batch_discount: 0.5 });
  expect(found.price!.source).toMatch(/^@pydantic\/genai-prices 0\.1\.8 \(openai\/gpt-4o-mini, standard prices\); batch discount 50%: https:\/\/platform\.openai\.com/);
  // A dated snapshot name matches its model; Gemini's "models/" prefix is dropped.
  expect(batchPrice('openai', 'gpt-4o-mini-2024-07-18').price?.input_per_mtok).toBe(0.075);
  expect(batchPrice('gemini', 'models/gemini-2.5-flash').price).not.toBeNull();
  expect(batchPrice('azureopenai', 'gpt-4o').price?.batch_discount).toBe(BATCH_DISCOUNTS.azureopenai!.discount);
});

test('cached input at the cache price; Gemini cache reads keep their price (its discounts do not stack)', () => {
  const cost = costOfUsage('openai', { 'gpt-4o-mini': usage(1_000_000, 200_000, 500_000) });
  expect(cost).toMatchObject({ currency: 'USD', input: 0.06, cached: 0.0075, output: 0.15, total: 0.2175 });
  const gemini = batchPrice('gemini', 'gemini-2.5-flash').price!;
  const standard = calcPrice({ input_tokens: 1, output_tokens: 1 }, 'gemini-2.5-flash', { providerId: 'google' })!.model_price;
  const base = (p: unknown) => (typeof p === 'number' ? p : (p as { base: number }).base);
  expect(gemini.input_per_mtok).toBeCloseTo(base(standard.input_mtok) / 2, 10);
  expect(gemini.cached_per_mtok).toBeCloseTo(base(standard.cache_read_mtok), 10);
});

test('Anthropic cache writes at their own batch price', () => {
  const p = batchPrice('anthropic', 'claude-sonnet-4-5').price!;
  expect(p).toMatchObject({ input_per_mtok: 1.5, output_per_mtok: 7.5, cached_per_mtok: 0.15, cache_write_per_mtok: 1.875 });
  const cost = costOfUsage('anthropic', { 'claude-sonnet-4-5': usage(1_000_000, 100_000, 0, 400_000) });
  expect(cost).toMatchObject({ input: 0.75, cached: 0.015 + 0.75, output: 0, total: 1.515 });
});

test('an unknown model, provider or server makes the whole cost unknown, never zero', () => {
  const cost = costOfUsage('openai', { 'gpt-4o-mini': usage(10, 0, 10), 'gpt-no-such-model': usage(10, 0, 10) });
  expect(cost).toEqual({ currency: 'USD', total: null, unknown_models: ['gpt-no-such-model'], reason: expect.stringContaining('no price for openai model "gpt-no-such-model"') });
  expect(costOfUsage('openai-compatible', { 'llama3.1:8b': usage(10, 0, 10) })).toMatchObject({ total: null, unknown_models: ['llama3.1:8b'] });
  expect(costOfUsage('openai', { '': usage(10, 0, 10) })).toMatchObject({ total: null, reason: expect.stringContaining('name no model') });
  // Results written before usage was recorded: unknown, not zero.
  expect(costOfParts('openai', [{ usage: {} }, {}])).toMatchObject({ total: null, unknown_models: [] });
  // No usage at all (every request failed): nothing was billed.
  expect(costOfParts('openai', [{ usage: {} }])).toMatchObject({ total: 0, prices: [] });
});

test('usage is read from each response shape, reasoning as output', () => {
  expect(usageOfBody({ model: 'm', usage: { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 } })).toEqual({ input: 10, cached: 4, cacheWrite: 0, output: 5, reasoning: 2 });
  // Reasoning reported beside completion_tokens (total says so) is added to the output.
  expect(usageOfBody({ usage: { prompt_tokens: 10, completion_tokens: 5, completion_tokens_details: { reasoning_tokens: 3 }, total_tokens: 18 } })).toMatchObject({ output: 8, reasoning: 3 });
  expect(usageOfBody({ object: 'response', usage: { input_tokens: 7, input_tokens_details: { cached_tokens: 2 }, output_tokens: 3 } })).toEqual({ input: 7, cached: 2, cacheWrite: 0, output: 3, reasoning: 0 });
  expect(usageOfBody({ type: 'message', usage: { input_tokens: 7, cache_read_input_tokens: 5, cache_creation_input_tokens: 1, output_tokens: 3 } })).toEqual({ input: 13, cached: 5, cacheWrite: 1, output: 3, reasoning: 0 });
  expect(usageOfBody({ error: {} })).toBeNull();
  const tally = new UsageTally();
  tally.add({ response: { body: { model: 'a', usage: { prompt_tokens: 1, completion_tokens: 2 } } } });
  tally.add({ response: { body: { model: 'a', usage: { prompt_tokens: 3, completion_tokens: 4 } } } });
  tally.add({ response: null });
  expect(tally.result()).toEqual({ a: { requests: 2, input: 4, cached: 0, cacheWrite: 0, output: 6, reasoning: 0 } });
});

test('the dry run range: input only at batch price, up to input plus every output cap; unbounded without caps', () => {
  const range = costRange('openai', ['gpt-4o-mini'], { input: 1_000_000, maxOutput: 1_000_000, withoutMaxOutput: 0 });
  expect(range).toMatchObject({ min: 0.075, max: 0.375 });
  expect(costRange('openai', ['gpt-4o-mini'], { input: 1_000_000, maxOutput: 0, withoutMaxOutput: 2 })).toMatchObject({ min: 0.075, max: null, max_reason: '2 requests set no max_tokens, so the output is unbounded' });
  expect(costRange('openai', ['gpt-no-such-model'], { input: 1, maxOutput: 1, withoutMaxOutput: 0 })).toMatchObject({ min: null, max: null, unknown_models: ['gpt-no-such-model'] });
});
