/**
 * `retryFailed`'s pieces without a server: which failed lines are retryable, the option's checks, the merge that
 * leaves out the earlier-round error lines of retried requests (local folder and blob store), and the sandbox's
 * request fault (independent per batch, repeatable with a seed; xAI's INTERNAL errors).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../src/errors';
import { checkRetryFailed } from '../../src/options';
import type { ResultLine } from '../../src/providers/types';
import { DEFAULT_RETRY_CODES, isRetryable } from '../../src/results/retryable';
import { idsOfInput, mergeResults, writePartResults } from '../../src/results/writer';
import { FaultInjector, requestFaulted } from '../../src/sandbox/kernel/faults';
import { XaiBatchStore } from '../../src/sandbox/providers/xai/store';
import { LocalBlobStore } from '../../src/storage';

const status = (id: string, code: number, body: unknown = { error: { message: 'x', type: code >= 500 ? 'server_error' : 'invalid_request_error' } }): ResultLine => ({
  id: `r-${id}`,
  custom_id: id,
  response: { status_code: code, request_id: 'q', body },
  error: null,
});
const failed = (id: string, code: string): ResultLine => ({ id: `r-${id}`, custom_id: id, response: null, error: { code, message: code } });

test('the default codes retry 429, 5xx, timeouts and expired requests, never 4xx validation errors or cancels', () => {
  const codes = DEFAULT_RETRY_CODES;
  expect(isRetryable(status('a', 429), codes)).toBe(true);
  expect(isRetryable(status('a', 500), codes)).toBe(true);
  expect(isRetryable(status('a', 529, { error: { type: 'overloaded_error' } }), codes)).toBe(true);
  expect(isRetryable(status('a', 408), codes)).toBe(true);
  expect(isRetryable(status('a', 400, { error: { code: 'request_timeout' } }), codes)).toBe(true);
  expect(isRetryable(failed('a', 'batch_expired'), codes)).toBe(true);
  expect(isRetryable(status('a', 400), codes)).toBe(false);
  expect(isRetryable(status('a', 404), codes)).toBe(false);
  expect(isRetryable(failed('a', 'batch_cancelled'), codes)).toBe(false);
  expect(isRetryable(failed('a', 'batch_failed'), codes)).toBe(false);
  expect(isRetryable(status('a', 200, {}), ['2xx'])).toBe(false);
  expect(isRetryable(failed('a', 'batch_failed'), ['batch_failed'])).toBe(true);
  expect(isRetryable(status('a', 503), ['429'])).toBe(false);
});

test('retryFailed is checked: rounds 1..10, codes non-empty, batch_cancelled refused; default codes applied', () => {
  expect(checkRetryFailed(undefined)).toBeUndefined();
  expect(checkRetryFailed({ rounds: 2 })).toEqual({ rounds: 2, codes: [...DEFAULT_RETRY_CODES] });
  expect(checkRetryFailed({ rounds: 1, codes: ['429', '429', 'server_error'] })).toEqual({ rounds: 1, codes: ['429', 'server_error'] });
  expect(() => checkRetryFailed(3)).toThrow(UsageError);
  expect(() => checkRetryFailed({ rounds: 0 })).toThrow('retryFailed.rounds must be an integer from 1 to 10 (got 0)');
  expect(() => checkRetryFailed({ rounds: 11 })).toThrow('from 1 to 10');
  expect(() => checkRetryFailed({ rounds: 1, codes: [] })).toThrow('retryFailed.codes must be a non-empty array');
  expect(() => checkRetryFailed({ rounds: 1, codes: ['batch_cancelled'] })).toThrow('retryFailed.codes[0]: batch_cancelled is never retried');
  expect(() => checkRetryFailed({ rounds: 1, codes: ['5xx', '200'] })).toThrow('retryFailed.codes[1]: 200 is not an HTTP error status');
  expect(() => checkRetryFailed({ rounds: 1, round: 2 })).toThrow('Unknown option "retryFailed.round"');
});

describe('the merge leaves out the retryable error lines of parts a retry round followed', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-retry-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function input(ids: string[], name: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, ids.map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: {} })).join('\n') + '\n');
    return file;
  }
  async function* lines(...items: ResultLine[]): AsyncGenerator<ResultLine> {
    yield* items;
  }
  const read = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResultLine);
  const ok = (id: string) => status(id, 200, { object: 'chat.completion' });

  async function parts(results: { resultsDir: string } | { store: { store: LocalBlobStore; prefix: string } }) {
    const write = (index: number, ids: string[], got: ResultLine[]) => {
      const part = { index, path: input(ids, `p${index}.jsonl`), requestCount: ids.length, bytes: 0 };
      return writePartResults({ batchId: 'ab', ...results, part, ids: idsOfInput(part.path), lines: lines(...got), outcome: { code: 'missing_result', message: 'm' } });
    };
    // Round 0: a ok, b 500, c 400 (not retryable), d expired. Round 1 (b, d): b ok, d 500.
    return [
      await write(0, ['a', 'b', 'c', 'd'], [ok('a'), status('b', 500), status('c', 400), failed('d', 'batch_expired')]),
      await write(1, ['b', 'd'], [ok('b'), status('d', 500)]),
    ];
  }

  test('in a local folder', async () => {
    const merged = await mergeResults(dir, await parts({ resultsDir: dir }), { codes: DEFAULT_RETRY_CODES, parts: [0] });
    expect(read(merged.output_path).map((l) => l.custom_id).sort()).toEqual(['a', 'b']);
    expect(read(merged.errors_path).map((l) => `${l.custom_id}:${l.response?.status_code ?? l.error?.code}`).sort()).toEqual(['c:400', 'd:500']);
    expect(merged).toMatchObject({ output_count: 2, errors_count: 2 });
  });

  test('in the blob store', async () => {
    const store = new LocalBlobStore(path.join(dir, 'store'));
    const target = { store, prefix: 'results/ab/' };
    const merged = await mergeResults(target, await parts({ store: target }), { codes: DEFAULT_RETRY_CODES, parts: [0] });
    expect(merged).toMatchObject({ output_count: 2, errors_count: 2 });
    expect(read(merged.errors_path).map((l) => l.custom_id).sort()).toEqual(['c', 'd']);
    expect(read(merged.output_path).map((l) => l.custom_id).sort()).toEqual(['a', 'b']);
  });
});

test("the sandbox's request fault: about the rate, drawn anew for each batch, the same again with the same seed", () => {
  const draws = (seed: number) => {
    const faults = new FaultInjector({ requestFaultRate: 0.3, seed });
    return [faults.requestFault(), faults.requestFault()];
  };
  const [first, second] = draws(5);
  const failedIn = (fault: ReturnType<FaultInjector['requestFault']>) => Array.from({ length: 1000 }, (_, i) => requestFaulted(fault, i));
  const a = failedIn(first);
  const b = failedIn(second);
  expect(a.filter(Boolean).length).toBeGreaterThan(240);
  expect(a.filter(Boolean).length).toBeLessThan(360);
  expect(a).not.toEqual(b); // another batch, other requests fail
  expect(failedIn(draws(5)[0])).toEqual(a); // the same seed, the same run
  expect(new FaultInjector({}).requestFault()).toBeNull();
  expect(requestFaulted(null, 0)).toBe(false);
});

test("xAI's sandbox fails the faulted requests of a batch with INTERNAL (13), counted as errors", () => {
  let now = 0;
  const store = new XaiBatchStore(() => now, { validationMs: 0, cancellingMs: 0, rate: 1000 }, 100);
  const requests = Array.from({ length: 50 }, (_, i) => ({ customId: `r${i}`, url: '/v1/chat/completions', body: { model: 'grok-3', messages: [{ role: 'user', content: `q${i}` }] }, failure: null }));
  const fault = new FaultInjector({ requestFaultRate: 0.5, seed: 2 }).requestFault();
  const batch = store.create({ name: 'n', inputFileId: 'f', requests }, { requestFault: fault });
  now = 10_000;
  const { results } = store.results(batch, 0, 100);
  const failed = results.filter((r) => r.error_message !== null);
  expect(failed.length).toBe(requests.filter((_, i) => requestFaulted(fault, i)).length);
  expect(failed.length).toBeGreaterThan(10);
  expect(failed.every((r) => 'error' in r.batch_result && r.batch_result.error.code === 13)).toBe(true);
  expect(store.toJson(batch).state).toMatchObject({ num_requests: 50, num_error: failed.length, num_success: 50 - failed.length });
});
