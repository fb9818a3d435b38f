/**
 * Together <-> OpenAI (src/providers/together/mapping.ts): the status table, the BatchJob as OpenAI's Batch (ISO
 * times, no counts, progress, errors), result lines under the caller's custom_id, OpenAI lines as Together's, and
 * the filename-safe idempotency key.
 */
import { together } from '../../src/providers/together';
import { CustomIdMap } from '../../src/providers/custom-ids';
import { TOGETHER_CUSTOM_IDS, TOGETHER_LIMITS } from '../../src/providers/together/limits';
import {
  keyFileName,
  LineTranslationError,
  TOGETHER_STATUS_MAP,
  toOpenAIBatch,
  toOpenAIResultLine,
  togetherSeconds,
  togetherStatus,
  toTogetherLine,
  type TogetherJob,
} from '../../src/providers/together/mapping';

const NOW = Date.parse('2026-12-01T12:00:00Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

function job(extra: Partial<TogetherJob> = {}): TogetherJob {
  return {
    id: '01234567-8901-2345-6789-012345678901',
    user_id: 'user_1',
    input_file_id: 'file-in',
    file_size_bytes: 1234,
    status: 'IN_PROGRESS',
    job_deadline: iso(NOW + 86_400),
    created_at: iso(NOW),
    endpoint: '/v1/chat/completions',
    progress: 40,
    model_id: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
    ...extra,
  };
}

describe('statuses', () => {
  test.each([
    ['VALIDATING', 'validating'],
    ['IN_PROGRESS', 'in_progress'],
    ['COMPLETED', 'completed'],
    ['FAILED', 'failed'],
    ['EXPIRED', 'expired'],
    ['CANCELLED', 'cancelled'],
  ])('%s -> %s', (status, mapped) => {
    expect(togetherStatus(status)).toBe(mapped);
    expect(TOGETHER_STATUS_MAP[status as keyof typeof TOGETHER_STATUS_MAP]).toBe(mapped);
  });

  test('an unknown or missing status reads as in_progress; the definition carries the table', () => {
    expect(togetherStatus('QUEUED')).toBe('in_progress');
    expect(togetherStatus(undefined)).toBe('in_progress');
    expect(togetherStatus('toString')).toBe('in_progress');
    expect(together.statusMap).toBe(TOGETHER_STATUS_MAP);
  });
});

describe('BatchJob -> Batch', () => {
  test('a running job: ISO times as unix seconds, expires_at from job_deadline, progress, no counts', () => {
    const b = toOpenAIBatch(job(), { nowS: NOW + 5 });
    expect(b).toEqual({
      id: '01234567-8901-2345-6789-012345678901',
      object: 'batch',
      endpoint: '/v1/chat/completions',
      input_file_id: 'file-in',
      completion_window: '24h',
      status: 'in_progress',
      created_at: NOW,
      expires_at: NOW + 86_400,
      model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo',
      metadata: null,
      progress: 40,
    });
    expect(b).not.toHaveProperty('request_counts');
    expect(b).not.toHaveProperty('in_progress_at');
  });

  test('a completed job: completed_at, its result files, progress 100', () => {
    const b = toOpenAIBatch(job({ status: 'COMPLETED', progress: 100, completed_at: iso(NOW + 600), output_file_id: 'file-out', error_file_id: 'file-err' }));
    expect(b).toMatchObject({ status: 'completed', completed_at: NOW + 600, output_file_id: 'file-out', error_file_id: 'file-err', progress: 100 });
    expect(b).not.toHaveProperty('request_counts');
  });

  test.each<[string, string]>([
    ['FAILED', 'failed_at'],
    ['EXPIRED', 'expired_at'],
    ['CANCELLED', 'cancelled_at'],
  ])("%s fills %s from completed_at", (status, field) => {
    const b = toOpenAIBatch(job({ status, completed_at: iso(NOW + 60) })) as unknown as Record<string, unknown>;
    expect(b[field]).toBe(NOW + 60);
    expect(b.completed_at).toBeUndefined();
  });

  test("a failed job's error string is its errors; empty strings and ids are no value", () => {
    const failed = toOpenAIBatch(job({ status: 'FAILED', error: 'Line 2: custom_id is too long', output_file_id: '', error_file_id: '', progress: 0 }));
    expect(failed.errors).toEqual({ object: 'list', data: [{ code: 'batch_failed', message: 'Line 2: custom_id is too long', line: null, param: null }] });
    expect(failed).not.toHaveProperty('output_file_id');
    expect(failed).not.toHaveProperty('error_file_id');
    expect(toOpenAIBatch(job({ error: '' }))).not.toHaveProperty('errors');
    expect(toOpenAIBatch(job({ error: 'slow model', status: 'COMPLETED' })).errors?.data?.[0]).toMatchObject({ code: 'batch_error', message: 'slow model' });
  });

  test('progress is clamped to 0..100 and absent when Together gives none; unreadable times are absent, not invented', () => {
    expect(toOpenAIBatch(job({ progress: 140 })).progress).toBe(100);
    expect(toOpenAIBatch(job({ progress: -3 })).progress).toBe(0);
    expect(toOpenAIBatch(job({ progress: 12.5 })).progress).toBe(12.5);
    expect(toOpenAIBatch(job({ progress: undefined }))).not.toHaveProperty('progress');
    const b = toOpenAIBatch(job({ created_at: 'not a time', job_deadline: '', status: 'COMPLETED', completed_at: null }), { nowS: NOW });
    expect(b.created_at).toBe(NOW);
    expect(b).not.toHaveProperty('expires_at');
    expect(b).not.toHaveProperty('completed_at');
  });

  test('timestamps: ISO strings, unix seconds, unix milliseconds', () => {
    expect(togetherSeconds('2026-12-01T12:00:00.999Z')).toBe(NOW);
    expect(togetherSeconds('2026-12-01T12:00:00Z')).toBe(NOW);
    expect(togetherSeconds(NOW)).toBe(NOW);
    expect(togetherSeconds(NOW * 1000 + 5)).toBe(NOW);
    expect(togetherSeconds(String(NOW))).toBe(NOW);
    expect(togetherSeconds(null)).toBeNull();
    expect(togetherSeconds('')).toBeNull();
    expect(togetherSeconds('soon')).toBeNull();
  });
});

describe('result lines -> OpenAI output lines', () => {
  test('a success keeps its status and body under the caller\'s custom_id, with a stable id', () => {
    const body = { id: 'chatcmpl-1', object: 'chat.completion', choices: [] };
    const l = toOpenAIResultLine({ custom_id: 'req-1', response: { status_code: 200, body }, error: null }, 'job-1');
    expect(l).toEqual({ id: expect.stringMatching(/^batch_req_[0-9a-f]{32}$/), custom_id: 'req-1', response: { status_code: 200, request_id: 'chatcmpl-1', body }, error: null });
    expect(toOpenAIResultLine({ custom_id: 'req-1', response: { status_code: 200, body } }, 'job-1').id).toBe(l.id);
    expect(toOpenAIResultLine({ custom_id: 'req-2', response: { status_code: 200, body } }, 'job-1').id).not.toBe(l.id);
  });

  test('a failed request keeps its response and gets its error; a line without a response is an error line', () => {
    const failed = toOpenAIResultLine(
      { custom_id: 'bad', response: { status_code: 429, body: { error: { message: 'slow down' } } }, error: { message: 'slow down', type: 'rate_limit_exceeded', code: null } },
      'job-1',
    );
    expect(failed).toMatchObject({ custom_id: 'bad', response: { status_code: 429, request_id: '', body: { error: { message: 'slow down' } } }, error: { code: 'rate_limit_exceeded', message: 'slow down' } });
    expect(toOpenAIResultLine({ custom_id: 'x', error: 'model unavailable' }, 'job-1')).toMatchObject({ response: null, error: { code: 'request_failed', message: 'model unavailable' } });
    expect(toOpenAIResultLine({ custom_id: 'y', error: { code: 'timeout', message: 'took too long' } }, 'job-1')).toMatchObject({ response: null, error: { code: 'timeout' } });
    expect(toOpenAIResultLine({ custom_id: 'z' }, 'job-1')).toMatchObject({ response: null, error: { code: 'missing_response' } });
    // An error with a 200 response is not a success either (the worker files it in errors).
    expect(toOpenAIResultLine({ custom_id: 'w', response: { status_code: 200, body: {} }, error: 'truncated' }, 'job-1').error).toEqual({ code: 'request_failed', message: 'truncated' });
  });
});

describe('input lines -> Together lines', () => {
  const openai = (customId: string, extra: Record<string, unknown> = {}) => ({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    ...extra,
  });

  test('{custom_id, method, url, body} -> {custom_id, body}, the model kept in the body and returned', () => {
    const out = toTogetherLine(openai('a'), '/v1/chat/completions');
    expect(out).toEqual({ customId: 'a', sentId: 'a', model: 'm', text: JSON.stringify({ custom_id: 'a', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } }) });
  });

  test("custom_ids up to 64 characters (code points) are sent as they are; longer ones as the map's stand-ins, mapped back in results", () => {
    expect(TOGETHER_CUSTOM_IDS).toEqual({ maxLength: 64 });
    expect(TOGETHER_LIMITS.customIds).toBe(TOGETHER_CUSTOM_IDS);
    const ids = new CustomIdMap(TOGETHER_CUSTOM_IDS);
    const send = (id: string) => ids.add(id);
    expect(toTogetherLine(openai('x'.repeat(64)), '/v1/chat/completions', send).sentId).toBe('x'.repeat(64));
    expect(toTogetherLine(openai('é'.repeat(64)), '/v1/chat/completions', send).sentId).toBe('é'.repeat(64));
    expect(toTogetherLine(openai('😀'.repeat(64)), '/v1/chat/completions', send).sentId).toBe('😀'.repeat(64));
    const long = toTogetherLine(openai('x'.repeat(65)), '/v1/chat/completions', send);
    expect(long.customId).toBe('x'.repeat(65));
    expect(long.sentId).toMatch(/^h_[a-z2-7]{40}$/);
    expect(JSON.parse(long.text).custom_id).toBe(long.sentId);
    const back = toOpenAIResultLine({ custom_id: long.sentId, response: { status_code: 200, body: {} } }, 'job-1', (id) => ids.toOriginal(id) ?? id);
    expect(back.custom_id).toBe('x'.repeat(65));
  });

  test('a url other than the endpoint, another method or a body that is not an object is refused', () => {
    expect(() => toTogetherLine(openai('a', { url: '/v1/embeddings' }), '/v1/chat/completions')).toThrow('url must be the batch endpoint');
    expect(() => toTogetherLine(openai('a', { method: 'GET' }), '/v1/chat/completions')).toThrow('method must be "POST"');
    expect(() => toTogetherLine(openai('a', { body: [] }), '/v1/chat/completions')).toThrow('body must be an object');
  });
});

describe('the idempotency key in the file name', () => {
  test('filename-safe, deterministic, distinct for keys that sanitise alike', () => {
    const name = keyFileName('ab_123/0');
    expect(name).toMatch(/^anybatch-ab_123_0-[0-9a-f]{10}\.jsonl$/);
    expect(keyFileName('ab_123/0')).toBe(name);
    expect(keyFileName('ab_123_0')).not.toBe(name);
    expect(keyFileName('ab_123/1')).not.toBe(name);
    for (const key of ['../../etc/passwd', 'a b\\c:d*?"<>|', '', 'ü/ß', 'x'.repeat(500)]) {
      const n = keyFileName(key);
      expect(n).toMatch(/^anybatch-[A-Za-z0-9._-]+\.jsonl$/);
      expect(n.length).toBeLessThanOrEqual(110);
      expect(n).not.toContain('..');
    }
  });
});

test('limits: 50,000 requests, 100 MB, chat completions, 24h only, no metadata', () => {
  expect(TOGETHER_LIMITS).toMatchObject({
    name: 'together',
    endpoints: ['/v1/chat/completions'],
    maxRequestsPerBatch: 50_000,
    maxBytesPerBatch: 100 * 1024 * 1024,
    completionWindows: ['24h'],
    metadata: null,
  });
  expect(together.reservedMetadata).toEqual([]);
  expect(together.defaultBaseURL).toBe('https://api.together.ai/v1');
  expect(together.env).toEqual({ apiKey: 'TOGETHER_API_KEY', baseURL: 'TOGETHER_BASE_URL' });
});
