/** Which failures are retried and which fail a step at once, and what the worker's log lines look like. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { classifyFailure } from '../../src/activities/failures';
import { AnybatchError } from '../../src/errors';
import { formatEntry, errorText } from '../../src/logging';
import { ProviderError } from '../../src/providers/types';
import type { ProviderErrorKind } from '../../src/providers/types';
import { idsOfList } from '../../src/results/writer';
import { currentDetails, staticDetails, staticSummary } from '../../src/workflows/details';
import { buildBatch } from '../../src/workflows/legacy/state';
import type { BatchSpec } from '../../src/contract/spec';

describe('classifyFailure', () => {
  test.each<[ProviderErrorKind, boolean]>([
    ['transient', true],
    ['rate_limited', true],
    ['unreachable', true],
    ['auth', false],
    ['permission', false],
    ['not_found', false],
    ['invalid_request', false],
    ['bad_endpoint', false],
  ])('a provider %s error is retried: %s', (kind, retried) => {
    const failure = classifyFailure(new ProviderError(kind, `boom at http://h/v1`, { retryAfterMs: kind === 'rate_limited' ? 7000 : null }));
    expect(failure.type).toBe(`provider_${kind}`);
    expect(failure.nonRetryable).toBe(!retried);
    expect(failure.message).toBe('boom at http://h/v1');
    if (kind === 'rate_limited') expect(failure.nextRetryDelay).toBe(7000);
  });

  /** A system error as Node makes it (in the test realm or another, so by shape). */
  const sysError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${code}: something, open '/x'`), { code, syscall: 'open', ...extra });

  test.each([
    ['ENOENT', 'storage_unreadable', true],
    ['EISDIR', 'storage_unreadable', true],
    ['EACCES', 'storage_unreadable', true],
    ['ENOSPC', 'storage_full', false],
    ['EDQUOT', 'storage_full', false],
    ['EMFILE', 'storage_busy', false],
  ])('%s is %s (permanent: %s) and names the path', (code, type, permanent) => {
    const failure = classifyFailure(sysError(code, { path: '/data/inputs/ab_1.jsonl' }));
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(permanent);
    expect(failure.message).toContain('/data/inputs/ab_1.jsonl');
    expect(failure.message).toContain(code);
  });

  test('a write error without a path names the folder the step writes to', () => {
    const failure = classifyFailure(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }), undefined, '/results/ab_1');
    expect(failure.message).toContain('/results/ab_1');
  });

  test('credentials that cannot be unsealed fail at once; unknown errors are retried; secrets are redacted', () => {
    expect(classifyFailure(new AnybatchError('bad_credentials', 'keys differ')).nonRetryable).toBe(true);
    const unknown = classifyFailure(new TypeError('sk-secret-123456 went wrong'), { apiKey: 'sk-secret-123456' });
    expect(unknown.type).toBe('internal_error');
    expect(unknown.nonRetryable).toBe(false);
    expect(unknown.message).toBe('*** went wrong');
    const already = ApplicationFailure.nonRetryable('kept', 'x');
    expect(classifyFailure(already)).toBe(already);
  });
});

describe('worker log lines', () => {
  const entry = (meta: Record<string, unknown>) => ({ level: 'WARN' as const, message: 'Activity failed', meta, timestampNanos: 1_700_000_000_000_000_000n });
  const error = new Error('upload input: cannot connect', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

  test('one line with the step, the batch and the error with its causes, and no stack', () => {
    const line = formatEntry(entry({ activityType: 'uploadPart', workflowId: 'ab_1', attempt: 3, error }), false);
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('[WARN] Activity failed activityType=uploadPart workflowId=ab_1 attempt=3');
    expect(line).toContain('error="upload input: cannot connect: caused by connect ECONNREFUSED 127.0.0.1:9"');
    expect(line).not.toContain('    at ');
  });

  test('the stack only at DEBUG', () => {
    expect(formatEntry(entry({ error }), true)).toContain('    at ');
    expect(errorText('plain')).toBe('plain');
  });
});

test('the request ids recorded at validation give any part its ids', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anybatch-ids-'));
  const file = path.join(dir, 'in.ids.jsonl');
  fs.writeFileSync(file, ['a', 'b', 'line\nbreak', 'd', 'e'].map((id) => JSON.stringify(id)).join('\n') + '\n');
  const take = async (first: number, count: number) => {
    const out: string[] = [];
    for await (const id of idsOfList(file, first, count)) out.push(id);
    return out;
  };
  expect(await take(0, 5)).toEqual(['a', 'b', 'line\nbreak', 'd', 'e']);
  expect(await take(2, 2)).toEqual(['line\nbreak', 'd']);
  expect(await take(4, 10)).toEqual(['e']);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('what the Web UI shows of a batch', () => {
  const spec: BatchSpec = {
    batchId: 'ab_1',
    provider: 'openai',
    endpoint: '/v1/chat/completions',
    completionWindow: '24h',
    metadata: { job: 'nightly|eval' },
    createdAt: 1_700_000_000,
    input: { path: '/h/inputs/ab_1.jsonl', requestCount: 20, bytes: 100, model: 'gpt-4o-mini' },
    resultsDir: '/h/results/ab_1',
    pollIntervalMs: 1000,
    connection: { apiBase: null, sealed: null },
    maxRequestsPerPart: null,
    providerOptions: {},
    searchAttributes: true,
  };

  test('a one-line summary and a details table', () => {
    expect(staticSummary(spec)).toBe('openai · gpt-4o-mini · 20 requests · /v1/chat/completions');
    const details = staticDetails(spec, '/home/me/requests.jsonl');
    expect(details).toContain('| requests | 20 |');
    expect(details).toContain('| input | /home/me/requests.jsonl |');
    expect(details).toContain('| metadata.job | nightly\\|eval |');
  });

  test('current details: status, counts, provider batches, the step being retried', () => {
    const batch = buildBatch(spec, { parts: [], cancelRequested: false, results: null, failure: null, finishedAt: null, pollFailures: 2, pollError: 'retrieve batch: 500' });
    const text = currentDetails(batch);
    expect(text).toContain('**validating**: 0 of 20 requests done');
    expect(text).toContain('retrying poll (2 failed attempts): retrieve batch: 500');
  });
});
