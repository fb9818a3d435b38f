/** How `openai` SDK errors are classified: retry, wait for retry-after, or fail at once. */
import OpenAI from 'openai';
import { retryAfterMs } from '../../src/providers/http-errors';
import { toProviderError } from '../../src/providers/openai/errors';
import { ProviderError } from '../../src/providers/types';

function apiError(status: number, headers: Record<string, string> = {}) {
  return OpenAI.APIError.generate(status, { error: { message: `status ${status}`, type: 'x', param: null, code: null } }, undefined, new Headers(headers));
}

test.each<[number, string]>([
  [400, 'invalid_request'],
  [401, 'auth'],
  [403, 'auth'],
  [404, 'not_found'],
  [408, 'transient'],
  [409, 'transient'],
  [422, 'invalid_request'],
  [429, 'rate_limited'],
  [500, 'transient'],
  [503, 'transient'],
])('HTTP %i is %s', (status, kind) => {
  const err = toProviderError(apiError(status), 'create batch');
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).kind).toBe(kind);
  expect((err as ProviderError).message).toMatch(/^create batch: /);
});

test('a dropped connection is transient', () => {
  const err = toProviderError(new OpenAI.APIConnectionError({ message: 'socket hang up' }), 'retrieve batch');
  expect((err as ProviderError).kind).toBe('transient');
});

test('429 carries the retry-after delay', () => {
  expect((toProviderError(apiError(429, { 'retry-after': '7' }), 'x') as ProviderError).retryAfterMs).toBe(7000);
  expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
  expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
  expect(retryAfterMs(new Headers({}))).toBeNull();
});

test('errors that are not from the SDK pass through unchanged', () => {
  const err = new Error('disk full');
  expect(toProviderError(err, 'x')).toBe(err);
});
