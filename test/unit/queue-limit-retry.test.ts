/**
 * The table of provider failures that send a part out again (src/providers/batch-failures.ts): queue limits
 * (wait, resubmit) and size failures (re-split), read from a failed batch's errors or from a refused create; and
 * the `queueLimitRetry` option's checks.
 */
import type { Batch } from '../../src/contract/batch';
import { UsageError } from '../../src/errors';
import { checkQueueLimitRetry } from '../../src/options';
import { failureReason, partFailureKind, statedMaxRequests } from '../../src/providers/batch-failures';

const failedBatch = (code: string, message: string): Batch => ({
  id: 'batch_1',
  object: 'batch',
  endpoint: '/v1/chat/completions',
  input_file_id: 'file-1',
  completion_window: '24h',
  status: 'failed',
  created_at: 0,
  errors: { object: 'list', data: [{ code, message, param: null, line: null }] },
});

test("OpenAI's failed batches: token_limit_exceeded is a queue limit, too_many_tasks a size failure, others final", () => {
  const queue = { batch: failedBatch('token_limit_exceeded', 'Enqueued token limit reached for gpt-4o-mini in organization org-x. Limit: 90,000 enqueued tokens.'), error: null };
  expect(partFailureKind('openai', queue)).toBe('queue_limit');
  expect(partFailureKind('azureopenai', queue)).toBe('queue_limit');
  expect(failureReason(queue)).toBe('token_limit_exceeded: Enqueued token limit reached for gpt-4o-mini in organization org-x. Limit: 90,000 enqueued tokens.');
  const size = { batch: failedBatch('too_many_tasks', 'The batch input file has 25 requests, more than the maximum of 10 per batch.'), error: null };
  expect(partFailureKind('openai', size)).toBe('too_large');
  expect(statedMaxRequests(size)).toBe(10);
  expect(statedMaxRequests({ batch: failedBatch('too_many_tasks', 'more than the maximum of 50,000 requests per batch'), error: null })).toBe(50_000);
  expect(statedMaxRequests({ batch: failedBatch('too_many_tasks', 'too many'), error: null })).toBeNull();
  expect(partFailureKind('openai', { batch: failedBatch('model_not_found', 'The model x does not exist'), error: null })).toBeNull();
  expect(partFailureKind('openai', { batch: { ...failedBatch('token_limit_exceeded', 'x'), status: 'completed' }, error: null })).toBeNull();
});

test('refused creates: a 429 whose retries ran out is a queue limit; a 4xx saying the part is too large a size failure', () => {
  expect(partFailureKind('anthropic', { batch: null, error: { code: 'provider_rate_limited', message: '429 rate_limit_error' } })).toBe('queue_limit');
  expect(partFailureKind('openai', { batch: null, error: { code: 'provider_rate_limited', message: 'Rate limit reached' } })).toBe('queue_limit');
  expect(partFailureKind('anthropic', { batch: null, error: { code: 'provider_invalid_request', message: '413 request_too_large: Request exceeds the maximum size' } })).toBe('too_large');
  const anthropic = { batch: null, error: { code: 'provider_invalid_request', message: '400 invalid_request_error: requests: too many requests; a batch holds at most 10' } };
  expect(partFailureKind('anthropic', anthropic)).toBe('too_large');
  expect(statedMaxRequests(anthropic)).toBe(10);
  expect(partFailureKind('xai', { batch: null, error: { code: 'provider_invalid_request', message: 'The input file holds more than the maximum of 100 requests.' } })).toBe('too_large');
  expect(partFailureKind('openai', { batch: null, error: { code: 'provider_auth', message: '401 Incorrect API key' } })).toBeNull();
  expect(partFailureKind('openai', { batch: null, error: { code: 'provider_invalid_request', message: 'Invalid metadata' } })).toBeNull();
  expect(partFailureKind('openai', { batch: null, error: null })).toBeNull();
});

test('queueLimitRetry: durations with defaults (1m, 30m, 24h), checked', () => {
  expect(checkQueueLimitRetry(undefined)).toBeUndefined();
  expect(checkQueueLimitRetry({})).toEqual({ initialMs: 60_000, maxMs: 1_800_000, giveUpAfterMs: 86_400_000 });
  expect(checkQueueLimitRetry({ initialDelay: '5s', maxDelay: 10_000, giveUpAfter: '1h' })).toEqual({ initialMs: 5_000, maxMs: 10_000, giveUpAfterMs: 3_600_000 });
  expect(() => checkQueueLimitRetry({ initialDelay: '2m', maxDelay: '1m' })).toThrow('queueLimitRetry.maxDelay (60000 ms) is shorter than queueLimitRetry.initialDelay (120000 ms).');
  expect(() => checkQueueLimitRetry({ initialDelay: 'soon' })).toThrow(UsageError);
  expect(() => checkQueueLimitRetry({ delay: '1m' })).toThrow('Unknown option "queueLimitRetry.delay"');
  expect(() => checkQueueLimitRetry('1m')).toThrow('queueLimitRetry must be an object');
});
