/** Admission control's pure budget logic: defaults and overrides (worker env too), FIFO grants, a part bigger than the budget, reasons, ids. */
import { budgetProblem, isUnlimited, nextGrants, overflow, resolveBudget, usageOf, type AdmissionRequest, type Budget } from '../../src/admission/budget';
import { admissionWorkflowId, connectionHash } from '../../src/admission/key';
import { workerOverrides } from '../../src/admission/settings';
import { PROVIDERS, type ProviderCapabilities, type QueueLimits } from '../../src/providers/catalog';

const request = (id: string, tokens: number, requests = 1): AdmissionRequest => ({ id, holder: `wf-${id}`, part: 0, tokens, requests });
const published = (provider: keyof typeof PROVIDERS): QueueLimits | undefined => (PROVIDERS[provider] as ProviderCapabilities).admission;
const tokens = (limit: number | null, batches: number | null = null): Budget => ({ enqueuedTokens: limit, requests: null, batches });

test('the budget is the override where given (null lifts a limit), else the provider published one, else none', () => {
  expect(resolveBudget(published('anthropic'), undefined)).toEqual({ enqueuedTokens: null, requests: 100_000, batches: null });
  expect(resolveBudget(published('anthropic'), { requests: null, batches: 3 })).toEqual({ enqueuedTokens: null, requests: null, batches: 3 });
  expect(resolveBudget(published('openai'), undefined)).toEqual({ enqueuedTokens: null, requests: null, batches: null });
  expect(isUnlimited(resolveBudget(published('openai'), undefined))).toBe(true);
  expect(isUnlimited(resolveBudget(published('openai'), { enqueuedTokens: 2_000_000 }))).toBe(false);
  expect(published('together')).toMatchObject({ enqueuedTokens: 30_000_000_000, perModel: true });
});

test('bad limits are named with where they are', () => {
  expect(budgetProblem({ enqueuedTokens: 0 }, 'admission')).toBe('admission.enqueuedTokens must be a positive integer or null (no limit), got 0.');
  expect(budgetProblem({ tokens: 5 } as never, 'admission')).toMatch(/unknown admission limit "tokens"/);
  expect(budgetProblem({ enqueuedTokens: null, batches: 2 }, 'admission')).toBeNull();
});

test('grants go first in, first out while they fit, and the first that does not fit stops the queue', () => {
  const queue = [request('a', 40), request('b', 50), request('c', 30), request('d', 5)];
  expect(nextGrants(tokens(100), queue, []).map((r) => r.id)).toEqual(['a', 'b']);
  // c (30) does not fit beside a and b (90): d (5) would, but does not overtake it.
  expect(nextGrants(tokens(100), queue.slice(2), [request('a', 40), request('b', 50)])).toEqual([]);
  expect(nextGrants(tokens(100), queue.slice(2), [request('b', 50)]).map((r) => r.id)).toEqual(['c', 'd']);
  expect(nextGrants(tokens(null, 1), queue, []).map((r) => r.id)).toEqual(['a']);
});

test('a part bigger than the whole budget goes out alone, once nothing is in flight', () => {
  const big = request('big', 500);
  expect(nextGrants(tokens(100), [big, request('next', 1)], [request('small', 10)])).toEqual([]);
  expect(nextGrants(tokens(100), [big, request('next', 1)], []).map((r) => r.id)).toEqual(['big']);
});

test('the reason to wait names the measure and the numbers', () => {
  const holders = [request('a', 60_000), request('b', 30_000)];
  expect(usageOf(holders)).toEqual({ enqueuedTokens: 90_000, requests: 2, batches: 2 });
  expect(overflow(tokens(100_000), usageOf(holders), request('c', 20_000))).toBe('enqueued tokens: 90,000 of 100,000 in use, this part needs 20,000');
  expect(overflow({ enqueuedTokens: null, requests: null, batches: 2 }, usageOf(holders), request('c', 1))).toBe('batches in flight: 2 of 2 in use, this part needs 1');
  expect(overflow(tokens(100_000), usageOf(holders), request('c', 10_000))).toBeNull();
});

test('admission workflow ids name the connection by a hash that never contains the key', () => {
  const key = 'sk-secret-key-1234567890';
  const hash = connectionHash('https://api.openai.com/v1', key);
  expect(hash).toMatch(/^[0-9a-f]{16}$/);
  expect(connectionHash('https://api.openai.com/v1', 'sk-other')).not.toBe(hash);
  expect(connectionHash('http://127.0.0.1:1/v1', key)).not.toBe(hash);
  const id = admissionWorkflowId({ provider: 'openai', model: 'gpt-4o-mini' }, hash);
  expect(id).toBe(`anybatch-admission:openai:${hash}:gpt-4o-mini`);
  expect(id).not.toContain(key.slice(3, 12));
  expect(admissionWorkflowId({ provider: 'anthropic', model: null }, hash)).toBe(`anybatch-admission:anthropic:${hash}:*`);
});

test('ANYBATCH_ADMISSION sets a provider limits on the worker, and a malformed one says what is wrong', () => {
  const raw = '{"openai": {"enqueuedTokens": 2000000}, "anthropic": {"requests": null}}';
  expect(workerOverrides('openai', raw)).toEqual({ enqueuedTokens: 2_000_000 });
  expect(workerOverrides('anthropic', raw)).toEqual({ requests: null });
  expect(workerOverrides('groq', raw)).toBeUndefined();
  expect(workerOverrides('openai', undefined)).toBeUndefined();
  expect(() => workerOverrides('openai', '{openai')).toThrow(/^ANYBATCH_ADMISSION is not valid JSON/);
  expect(() => workerOverrides('openai', '[1]')).toThrow(/must be a JSON object of limits per provider/);
  expect(() => workerOverrides('openai', '{"openai": {"enqueuedTokens": -1}}')).toThrow('ANYBATCH_ADMISSION.openai.enqueuedTokens must be a positive integer or null (no limit), got -1.');
});
